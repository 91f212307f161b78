import { randomBytes } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import { describe, expect, it } from 'vitest'
import type { SqlClient } from '../data/sql-client.js'
import type { TenantDataProvider } from '../data/tenant-data-provider.js'
import type { Store } from '../store.js'
import { memoryRecords } from '../stores/memory/memory-records.js'
import { createTenancy } from '../tenancy.js'
import type { Tenant } from '../tenant.js'
import { readTableShape, type SqlColumn, type SqlTableShape } from './sql-table-shape.js'
import { PASSWORD, TEST_AUTH } from './test-auth.js'

/** One of the host's tables, and how a tenant writes a valid row of it. */
export interface SqlTableUnderTest {
  /** As a tenant names it: `notes`, or `app.notes`. */
  name: string
  /**
   * The `n`th row a tenant writes, without `tenant_id`: valid once the same tenant wrote the
   * `n`th row of every table listed before this one (so a foreign key names `n`'s parent).
   */
  row(n: number): Record<string, unknown>
}

export interface SqlIsolationOptions {
  name: string
  /**
   * The store: `tenantry/postgres`'s, or any `{ records, data }` whose data runs SQL. It may
   * return the same store every time: the probe removes the rows and organizations it made.
   */
  create(): Promise<Store | TenantDataProvider> | Store | TenantDataProvider
  /** The host's tenant tables, each table after those its foreign keys reference. */
  tables: readonly SqlTableUnderTest[]
}

/** A probe whose answer depended on the victim's rows: what it sent, and both answers. */
export interface SqlLeak {
  probe: string
  present: unknown
  absent: unknown
}

/**
 * The engine's leak probe for a host's own tables: for each table, an attacker and a victim
 * tenant, and every way the engine could answer from the victim's rows: a unique or exclusion
 * key (inserting the victim's values, with and without `ON CONFLICT`), a foreign key
 * (referencing the victim's row), a sequence (inserting around the victim's insert, reading
 * `last_value`), error oracles on each of the victim's values, reads and counts. Each runs with
 * the victim's rows present and absent; the answers (rows by position, or error class and
 * code) must be equal, and the victim's rows unchanged.
 *
 * @example
 * describeSqlIsolation({
 *   name: 'notes app',
 *   create: () => store, // postgresStore({ pool, strategy: 'rls', migrations, tables: ['projects', 'notes'] })
 *   tables: [
 *     { name: 'projects', row: (n) => ({ id: n, name: `project ${n}` }) },
 *     { name: 'notes', row: (n) => ({ id: n, project_id: n, body: `note ${n}` }) },
 *   ],
 * })
 */
export function describeSqlIsolation(options: SqlIsolationOptions): void {
  validate(options)
  describe(`the ${options.name} tables, probed through the engine with the victim's rows present and absent`, () => {
    for (const table of options.tables)
      it(`answers alike and leaves the victim whole on ${table.name}: keys, foreign keys, sequences, error oracles, reads`, async () => {
        expect(await probeSqlIsolation(options, table.name)).toEqual([])
      })
  })
}

function validate(options: SqlIsolationOptions): void {
  if (typeof options?.create !== 'function' || !Array.isArray(options.tables) || options.tables.length === 0)
    throw new TypeError('describeSqlIsolation needs { name, create, tables: [{ name, row }] }')
  for (const table of options.tables)
    if (typeof table?.name !== 'string' || typeof table.row !== 'function')
      throw new TypeError('describeSqlIsolation: each table is { name, row(n) }')
}

/**
 * Probes one of `options.tables`: the leaks found, none when the table keeps tenants apart.
 * What `describeSqlIsolation` runs for each table, for a test of your own.
 */
export async function probeSqlIsolation(options: SqlIsolationOptions, table: string): Promise<SqlLeak[]> {
  validate(options)
  const index = options.tables.findIndex((candidate) => candidate.name === table)
  if (index < 0) throw new RangeError(`sql isolation probe: ${table} is not one of the tables`)
  const given = await options.create()
  const data = 'records' in given ? given.data : given
  await data.migrate?.()
  const records = memoryRecords()
  const tenancy = createTenancy({ store: { records, data }, auth: TEST_AUTH })
  const run = randomBytes(6).toString('hex')
  const made: Tenant[] = []
  try {
    for (const role of ['attacker', 'victim']) {
      const email = `${role}-${run}@sql-probe.test`
      const { organization } = await tenancy.orgs.create({
        name: `SQL probe ${role} ${run}`,
        email,
        password: PASSWORD,
      })
      made.push(await tenancy.tenant({ id: organization.id }))
    }
    return await probeWorlds(options.tables, index, made[0]!, made[1]!)
  } finally {
    for (const tenant of made) {
      const org = await records.organizations.find({ id: tenant.id })
      if (org) await data.drop(org)
    }
  }
}

/** Both worlds from one store: the victim's rows written, probed, deleted, probed again. */
async function probeWorlds(
  tables: readonly SqlTableUnderTest[],
  index: number,
  attacker: Tenant,
  victim: Tenant,
): Promise<SqlLeak[]> {
  const table = tables[index]!
  await writeChain(attacker, tables, tables.length - 1, 1)
  const shape = await readTableShape(attacker, table.name)
  await writeChain(victim, tables, tables.length - 1, 2)
  const victimView = () => answer(victim, (client) => client.query(readAll(table.name, shape)))
  const before = await victimView()
  const victimRow = await readVictimRow(victim, table.name, shape)
  const context = { tables, index, attacker, victim, shape, victimRow }
  const present = await runProbes(context, true)
  const after = await victimView()
  for (const earlier of [...tables].reverse()) await victim.query(`delete from ${earlier.name}`)
  const absent = await runProbes(context, false)
  const leaks: SqlLeak[] = []
  for (const [probe, answered] of present)
    if (!isDeepStrictEqual(answered, absent.get(probe)))
      leaks.push({ probe, present: answered, absent: absent.get(probe) })
  if (!isDeepStrictEqual(before, after))
    leaks.push({ probe: `the victim's rows of ${table.name}, before and after`, present: before, absent: after })
  return leaks
}

interface ProbeContext {
  tables: readonly SqlTableUnderTest[]
  index: number
  attacker: Tenant
  victim: Tenant
  shape: SqlTableShape
  /** The victim's first row, each column as text, as read by the victim in the world where it exists. */
  victimRow: Record<string, string | null>
}

/** Every probe of the table, in order, as the attacker: label → answer. */
async function runProbes(context: ProbeContext, victimPresent: boolean): Promise<Map<string, unknown>> {
  const { tables, index, attacker, shape, victimRow } = context
  const name = tables[index]!.name
  const answers = new Map<string, unknown>()
  const as = (label: string, statements: (client: SqlClient) => Promise<unknown>) =>
    answer(attacker, statements).then((answered) => answers.set(label, answered))
  await as(`reading ${name}`, (client) => client.query(readAll(name, shape)))
  await as(`counting ${name}`, (client) => client.query(`select count(*)::int as n from ${name}`))
  for (const [column, value] of Object.entries(victimRow)) {
    if (value === null) continue
    const test = `${quote(column)}::text = $1`
    await as(`an error oracle on the victim's ${name}.${column}`, (client) =>
      client.query(`select 1 / (case when exists (select 1 from ${name} where ${test}) then 0 else 1 end) as x`, [
        value,
      ]),
    )
    await as(`a filter that fails on the victim's ${name}.${column}`, (client) =>
      client.query(`select count(*)::int as n from ${name} where 1 / (case when ${test} then 0 else 1 end) = 1`, [
        value,
      ]),
    )
  }
  const insert =
    (columns: string[], suffix = '') =>
    (client: SqlClient) =>
      insertOverlaid(client, context, columns, suffix)
  await as(`inserting the victim's whole row into ${name}`, insert(Object.keys(victimRow)))
  for (const key of shape.keys) {
    const label = `the victim's ${key.columns.filter((column) => column !== 'tenant_id').join(', ')} under ${key.name}`
    await as(`inserting ${label}`, insert(key.columns))
    await as(`inserting ${label}, on conflict do nothing`, insert(key.columns, ' on conflict do nothing'))
    const set = key.columns.filter((column) => column !== 'tenant_id')[0]
    if (key.target && set)
      await as(
        `upserting ${label}`,
        insert(
          key.columns,
          ` on conflict (${key.columns.map(quote).join(', ')}) do update set ${quote(set)} = excluded.${quote(set)}`,
        ),
      )
  }
  for (const key of shape.foreignKeys)
    await as(
      `referencing the victim's ${key.columns.filter((column) => column !== 'tenant_id').join(', ')} through ${key.name}`,
      insert(key.columns),
    )
  for (const column of shape.columns.filter((candidate) => candidate.sequence !== null))
    answers.set(
      `counting the victim's inserts through ${name}.${column.name}`,
      await sequenceGap(context, column, victimPresent),
    )
  return answers
}

/**
 * Inserts the attacker's row 3 of the table (after row 3 of each table before it), with the
 * victim's values in `columns`: a key the victim holds, or a parent only the victim has.
 */
async function insertOverlaid(client: SqlClient, context: ProbeContext, columns: string[], suffix: string) {
  const { tables, index, shape, victimRow } = context
  await writeChainOn(client, tables, index - 1, 3)
  const row: Record<string, unknown> = { ...tables[index]!.row(3) }
  for (const column of columns) if (victimRow[column] != null) row[column] = victimRow[column]
  const identity = shape.columns.some((column) => column.identity === 'a' && column.name in row)
  return client.query(
    `insert into ${tables[index]!.name} (${Object.keys(row).map(quote).join(', ')})${identity ? ' overriding system value' : ''} values (${Object.keys(
      row,
    )
      .map((_, i) => `$${i + 1}`)
      .join(', ')})${suffix}`,
    Object.values(row),
  )
}

/**
 * How far a sequence moved between two of the attacker's inserts, and between two reads of its
 * `last_value`, with or without one of the victim's inserts in between (each insert rolled
 * back; a sequence does not roll back).
 */
async function sequenceGap(context: ProbeContext, column: SqlColumn, victimInserts: boolean): Promise<unknown> {
  const { tables, index, attacker, victim } = context
  const draw = (tenant: Tenant, n: number) =>
    answer(tenant, async (client) => {
      await writeChainOn(client, tables, index - 1, n)
      const row = tables[index]!.row(n)
      return client.query(
        `${insertStatement(tables[index]!.name, row, '')} returning ${quote(column.name)}::text`,
        Object.values(row),
      )
    })
  const lastValue = () => answer(attacker, (client) => client.query(`select last_value::text from ${column.sequence}`))
  const [first, read] = [await draw(attacker, 3), await lastValue()]
  if (victimInserts) await draw(victim, 4)
  const [reread, second] = [await lastValue(), await draw(attacker, 5)]
  return { draws: difference(first, second), lastValue: difference(read, reread) }
}

/** `b - a` of two one-value answers, or both answers when either is not a number. */
function difference(a: unknown, b: unknown): unknown {
  const value = (answered: unknown) => (answered as { rows?: unknown[][] }).rows?.[0]?.[0]
  const [x, y] = [value(a), value(b)]
  return typeof x === 'string' && typeof y === 'string' ? (BigInt(y) - BigInt(x)).toString() : [a, b]
}

/** Selects the table's columns (`tenant_id` aside) as text, ordered by all of them. */
function readAll(table: string, shape: SqlTableShape): string {
  const columns = shape.columns.map((column) => `${quote(column.name)}::text`)
  return `select ${columns.join(', ') || 'count(*)'} from ${table} order by ${columns.map((_, i) => i + 1).join(', ') || 1}`
}

async function readVictimRow(victim: Tenant, table: string, shape: SqlTableShape) {
  const columns = shape.columns.map((column) => `${quote(column.name)}::text as ${quote(column.name)}`)
  const { rows } = await victim.query<Record<string, string | null>>(
    `select ${columns.join(', ')} from ${table} limit 1`,
  )
  if (!rows[0]) throw new Error(`sql isolation probe: the victim's row ${table}.row(2) was not written`)
  return rows[0]
}

/** Writes row `n` of `tables[0..last]` as `tenant`, in one transaction. */
async function writeChain(tenant: Tenant, tables: readonly SqlTableUnderTest[], last: number, n: number) {
  await tenant.transaction((client) => writeChainOn(client, tables, last, n))
}

async function writeChainOn(client: SqlClient, tables: readonly SqlTableUnderTest[], last: number, n: number) {
  for (const table of tables.slice(0, last + 1)) {
    const row = table.row(n)
    await client.query(insertStatement(table.name, row, ''), Object.values(row))
  }
}

const ROLLED_BACK = Symbol('rolled back')

/**
 * What `statements` answered, in a transaction that is always rolled back (both worlds start
 * from the same rows): the rows by position and the count, or the error's class and codes.
 */
async function answer(tenant: Tenant, statements: (client: SqlClient) => Promise<unknown>): Promise<unknown> {
  let answered: unknown
  const settle = (err: unknown) => {
    const { name, code, cause } = (err ?? {}) as { name?: string; code?: string; cause?: { code?: string } }
    return { error: name, code, engine: cause?.code }
  }
  await tenant
    .transaction(async (client) => {
      answered = await statements(client).then((result) => {
        const { rows, rowCount } = (result ?? {}) as { rows?: Record<string, unknown>[]; rowCount?: number | null }
        return { rows: rows?.map((row) => Object.values(row)), rowCount }
      }, settle)
      throw ROLLED_BACK
    })
    .catch((err: unknown) => {
      if (err !== ROLLED_BACK) answered ??= settle(err)
    })
  return answered
}

/** `insert into <table> (<row's columns>)<overriding> values ($1, ...)`, the row's values its parameters. */
function insertStatement(table: string, row: Record<string, unknown>, overriding: string): string {
  const columns = Object.keys(row)
  return `insert into ${table} (${columns.map(quote).join(', ')})${overriding} values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`
