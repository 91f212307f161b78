import { createHash } from 'node:crypto'
import type { PoolClient } from 'pg'
import { MigrationRequiredError } from '../../errors.js'
import { ensureRelation } from './postgres-setup.js'

/** A migration as the host declares it: its SQL alone (named by its position, from 1), or named. */
export type PostgresMigration = string | { name: string; sql: string }

/** A migration ready to apply: its name, its SQL, and the sha256 of that SQL. */
export interface Migration {
  name: string
  sql: string
  checksum: string
}

/** Names each migration (a bare string by its position) and fingerprints its SQL. */
export function planMigrations(inputs: readonly PostgresMigration[]): Migration[] {
  return inputs.map((input, index) => {
    const { name, sql } = typeof input === 'string' ? { name: String(index + 1), sql: input } : input
    return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') }
  })
}

/**
 * Where applied migrations are recorded: `table` (`"schema".migrations`), one row per version
 * with its name and checksum; `key` is the tenant's, for a table that records each tenant apart.
 */
export interface Ledger {
  table: string
  key?: string
  /** Whose migrations these are, for messages: `tenantry's` or `the host's`. */
  owner: string
}

/** One recorded version; `checksum` is null on a row written before checksums were recorded. */
export type Applied = {
  version: number
  name: string | null
  checksum: string | null
}

/**
 * Creates the ledger when missing, or gives a ledger from before checksums its `name` and
 * `checksum` columns. Reads the catalog first, so a ledger already in shape takes no lock.
 */
export async function ensureLedger(client: PoolClient, ledger: Ledger): Promise<void> {
  const keyed = ledger.key !== undefined
  await ensureRelation(
    client,
    ledger.table,
    `create table ${ledger.table} (${keyed ? 'key text not null, ' : ''}version integer not null, applied_at timestamptz not null default now(), name text, checksum text, primary key (${keyed ? 'key, ' : ''}version))`,
  )
  const { rows } = await client.query(
    "select 1 from pg_attribute where attrelid = to_regclass($1) and attname = 'checksum' and not attisdropped",
    [ledger.table],
  )
  if (rows.length === 0)
    await client.query(`alter table ${ledger.table} add column name text, add column checksum text`)
}

/** What the ledger recorded, in version order. */
export async function readLedger(
  query: (text: string, values: unknown[]) => Promise<{ rows: Applied[] }>,
  ledger: Ledger,
): Promise<Applied[]> {
  const keyed = ledger.key !== undefined
  const { rows } = await query(
    `select version, name, checksum from ${ledger.table}${keyed ? ' where key = $1' : ''} order by version`,
    keyed ? [ledger.key] : [],
  )
  return rows
}

/**
 * Compares what was applied with `plan`, by position: an applied migration whose name or SQL
 * changed is refused by name (a change is a new migration). Answers the migrations not yet
 * applied, and how many applied ones `plan` does not know (a newer deploy's).
 */
export function compareLedger(applied: readonly Applied[], plan: readonly Migration[], ledger: Ledger) {
  for (const row of applied) {
    const planned = plan[row.version - 1]
    if (!planned || row.checksum === null) continue
    if (planned.name !== row.name || planned.checksum !== row.checksum)
      throw new MigrationRequiredError(
        `tenantry: ${ledger.owner} migration ${JSON.stringify(planned.name)} (number ${row.version}) is not the one applied (${JSON.stringify(row.name)}): its ${planned.name === row.name ? 'SQL' : 'name'} changed. An applied migration never changes: restore it, and put the change in a new migration`,
      )
  }
  const done = new Set(applied.map((row) => row.version))
  return {
    pending: plan.filter((_, index) => !done.has(index + 1)),
    unknown: applied.filter((row) => row.version > plan.length).length,
    unadopted: applied.some((row) => row.checksum === null),
  }
}

/**
 * Applies the migrations of `plan` the ledger lacks, each recorded with its name and checksum
 * in the transaction that runs it. Rows from before checksums are adopted first, assuming the
 * SQL they ran is the SQL declared now. Answers how many applied ones `plan` does not know.
 */
export async function applyLedger(client: PoolClient, ledger: Ledger, plan: readonly Migration[]): Promise<number> {
  const keyed = ledger.key !== undefined
  const applied = await readLedger((text, values) => client.query<Applied>(text, values), ledger)
  for (const row of applied) {
    const planned = plan[row.version - 1]
    if (row.checksum !== null || !planned) continue
    await client.query(
      `update ${ledger.table} set name = $2, checksum = $3 where version = $1${keyed ? ' and key = $4' : ''}`,
      [row.version, planned.name, planned.checksum, ...(keyed ? [ledger.key] : [])],
    )
    Object.assign(row, { name: planned.name, checksum: planned.checksum })
  }
  const { pending, unknown } = compareLedger(applied, plan, ledger)
  for (const migration of pending) {
    await client.query(migration.sql)
    await client.query(
      `insert into ${ledger.table} (${keyed ? 'key, ' : ''}version, name, checksum) values (${keyed ? '$4, ' : ''}$1, $2, $3)`,
      [plan.indexOf(migration) + 1, migration.name, migration.checksum, ...(keyed ? [ledger.key] : [])],
    )
  }
  return unknown
}
