import type { Pool, PoolClient } from 'pg'
import { MigrationRequiredError } from '../../errors.js'
import type { Migration } from './postgres-ledger.js'
import { notMigrated, rethrowMissing } from './postgres-migrations.js'
import { run } from './postgres-scope.js'
import { ensureRelation, ensureSchema, identifier } from './postgres-setup.js'

/** What a data provider expects of the database: its strategy, the host's migrations, its tables. */
export interface DataPlane {
  schema: string
  strategy: 'rls' | 'schema'
  migrations: readonly Migration[]
  /** `'rls'`: the declared tables. */
  tables?: readonly string[]
  /** The role tenants run as (`'rls'`) or the group of their roles (`'schema'`); undefined: the one migrate() made. */
  tenantRole?: string | undefined
}

/** The ledger each strategy keeps the host's migrations in: its presence tells a database's strategy. */
const LEDGERS = { rls: 'data_migrations', schema: 'schema_migrations' } as const

/**
 * Under the set-up lock: tenantry's schema, the data spaces' table and `data_plane`, whose one
 * row records the strategy this database's data spaces were made with. A database made with the
 * other strategy is refused by name: switching would hide every existing tenant's rows. A
 * database from before the row existed is told by its ledger.
 */
export async function claimDataPlane(client: PoolClient, plane: DataPlane): Promise<void> {
  const s = identifier(plane.schema)
  await ensureSchema(client, plane.schema)
  await ensureRelation(
    client,
    `${s}.data_spaces`,
    `create table ${s}.data_spaces (key text primary key, created_at timestamptz not null default now())`,
  )
  await ensureRelation(
    client,
    `${s}.data_plane`,
    `create table ${s}.data_plane (id integer primary key default 1 check (id = 1), strategy text not null, names text[] not null default '{}', checksums text[] not null default '{}', tables text[] not null default '{}', tenant_role text)`,
  )
  const { rows } = await client.query<{ strategy: DataPlane['strategy'] }>(`select strategy from ${s}.data_plane`)
  const other = plane.strategy === 'rls' ? 'schema' : 'rls'
  const { rows: legacy } = await client.query<{ found: boolean }>('select to_regclass($1) is not null as found', [
    `${s}.${LEDGERS[other]}`,
  ])
  const held = rows[0]?.strategy ?? (legacy[0]!.found ? other : undefined)
  if (held !== undefined && held !== plane.strategy) throw otherStrategy(plane, held)
  if (rows.length === 0) await client.query(`insert into ${s}.data_plane (strategy) values ($1)`, [plane.strategy])
}

/** Records, at the end of a successful migrate, what every data space is now at. */
export async function recordDataPlane(client: PoolClient, plane: DataPlane): Promise<void> {
  await client.query(
    `update ${identifier(plane.schema)}.data_plane set names = $1, checksums = $2, tables = $3, tenant_role = $4 where strategy = $5`,
    [
      plane.migrations.map((m) => m.name),
      plane.migrations.map((m) => m.checksum),
      plane.tables ?? [],
      plane.tenantRole ?? null,
      plane.strategy,
    ],
  )
}

/**
 * The request-time check: one read of `data_plane`, on the connection the operation holds.
 * Refuses another strategy's database, a changed migration by name, and anything this store
 * declares that the last migrate did not make. A newer deploy's extra migrations or tables pass:
 * an instance of the previous version keeps serving through a rolling deploy.
 */
export async function checkDataPlane(pool: Pool, plane: DataPlane): Promise<{ role: string }> {
  const { rows } = await run<{
    strategy: DataPlane['strategy']
    names: string[]
    checksums: string[]
    tables: string[]
    role: string
  }>(
    pool,
    `select strategy, names, checksums, tables, tenant_role as role from ${identifier(plane.schema)}.data_plane`,
  ).catch(rethrowMissing(plane.schema))
  const recorded = rows[0]
  if (!recorded) throw notMigrated(plane.schema)
  if (recorded.strategy !== plane.strategy) throw otherStrategy(plane, recorded.strategy)
  const changed = plane.migrations.find(
    (migration, index) =>
      index < recorded.checksums.length &&
      (recorded.checksums[index] !== migration.checksum || recorded.names[index] !== migration.name),
  )
  if (changed)
    throw new MigrationRequiredError(
      `tenantry: the host's migration ${JSON.stringify(changed.name)} is not the one applied: an applied migration never changes: restore it, and put the change in a new migration`,
    )
  const made =
    plane.migrations.length <= recorded.checksums.length &&
    (plane.tables ?? []).every((table) => recorded.tables.includes(table)) &&
    (plane.tenantRole === undefined || plane.tenantRole === recorded.role)
  if (!made) throw notMigrated(plane.schema)
  return recorded
}

const otherStrategy = (plane: DataPlane, held: string) =>
  new MigrationRequiredError(
    `tenantry: the ${plane.schema} schema holds '${held}' data spaces, and this store's strategy is '${plane.strategy}': one strategy per database (switching would hide every tenant's rows). Keep '${held}', or give this store another schema`,
  )
