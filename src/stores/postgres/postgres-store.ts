import type { Pool } from 'pg'
import type { RecordStore } from '../../control/record-store.js'
import type { Store } from '../../store.js'
import { type PostgresMigration, planMigrations } from './postgres-ledger.js'
import { sendPlainOn } from './postgres-batch.js'
import { boundedPool } from './postgres-bounded-pool.js'
import { acquireTimeoutOf, tenantBounds } from './postgres-bounds.js'
import { postgresRecords as recordsOn } from './postgres-records.js'
import { postgresRlsData } from './postgres-rls-data.js'
import { registerOwnerRole } from './postgres-owner-role.js'
import { postgresSchemaData } from './postgres-schema-data.js'
import type { SharedTables } from './postgres-shared-tables.js'

export interface PostgresRecordsOptions {
  /** The host's pool. Its role needs to create the schema, or own it once a DBA created it. */
  pool: Pool
  /** The schema tenantry's tables live in. Default `tenantry`. */
  schema?: string
  /**
   * The role that owns tenantry's records and, on `'rls'`, the host's tenant tables. Record
   * statements and set-up switch to it for their own transaction (`set_config('role', ..., true)`),
   * so the pool's login role may hold no privilege of its own and a `RESET ROLE` in host code
   * reaches nothing. Default: none, the pool's role owns everything.
   */
  ownerRole?: string
  /**
   * How long a call waits for a pooled connection before it answers `DatabaseUnavailableError`
   * (HTTP 503, retryable) instead of hanging behind a full pool. Default 5000. A pool whose own
   * `connectionTimeoutMillis` is shorter keeps that.
   */
  acquireTimeoutMs?: number
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * tenantry's records on PostgreSQL. The schema is created and migrated by `migrate()`
 * (`tenancy.migrate()`, at deploy, under an advisory lock, so instances starting together migrate
 * once); until then every operation is refused with `MigrationRequiredError`. Unique constraints
 * and conditional `UPDATE`s keep the record store's contract under concurrency.
 *
 * @example
 * const store = { records: postgresRecords({ pool: new pg.Pool() }), data: memoryStore().data }
 */
export function postgresRecords(options: PostgresRecordsOptions): Required<RecordStore> {
  const { pool, schema } = recordsOptions(options)
  return recordsOn(pool, schema)
}

/**
 * The options both factories share, checked (a TypeError at construction for any misuse), and
 * the pool tenantry uses: the host's, with every acquire bounded by `acquireTimeoutMs`.
 */
function recordsOptions(options: PostgresRecordsOptions): { pool: Pool; schema: string } {
  if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function')
    throw new TypeError('tenantry: postgresRecords needs { pool }, a Pool from the pg package')
  const { schema = 'tenantry', ownerRole } = options
  if (typeof schema !== 'string' || !SCHEMA.test(schema))
    throw new TypeError(
      'tenantry: schema must be a lower-case PostgreSQL name: a letter or _, then up to 62 of [a-z0-9_]',
    )
  if (ownerRole !== undefined && (typeof ownerRole !== 'string' || !SCHEMA.test(ownerRole)))
    throw new TypeError('tenantry: ownerRole must be a lower-case PostgreSQL name')
  const pool = boundedPool(options.pool, acquireTimeoutOf(options))
  registerOwnerRole(pool, ownerRole)
  return { pool, schema }
}

export interface PostgresStoreOptions extends PostgresRecordsOptions {
  /**
   * How tenant rows are kept apart. `'rls'`: in the host's shared `tables`, each row's
   * `tenant_id` checked by row-level security (forced, so the tables' owner is held to it too).
   * `'schema'`: a schema and a role per tenant, the host's `migrations` run in each.
   */
  strategy: 'rls' | 'schema'
  /** `'rls'`: the host's tables that hold tenant rows, as `notes` or `app.notes`. */
  tables?: readonly string[]
  /**
   * The host's own DDL, each applied once, in order: on `'rls'` before the tables are checked,
   * on `'schema'` in every tenant's schema (new tenants at create, the rest by `tenancy.migrate()`).
   * Each is a SQL string (named by its position, from 1) or `{ name, sql }`; each applied one is
   * recorded with its name and the sha256 of its SQL, and one that changed since is refused by name.
   */
  migrations?: readonly PostgresMigration[]
  /**
   * `'rls'`: the role tenant transactions run as. `'schema'`: the group role every tenant's own
   * role (`<tenantRole>_<data key>`) is a member of. Grants on the host's shared tables go to
   * it. Default `<database>_tenant`; created if missing and the pool's role may create roles.
   */
  tenantRole?: string
  /**
   * The host's own tables (its `users`) that tenants may reach inside their transactions, granted
   * to `tenantRole`; on `'schema'`, `search_path` reaches them after the tenant's own schema.
   * Not tenant tables: every tenant sees every row of them.
   */
  shared?: SharedTables
  /**
   * `false`: `tenant.query` sends its statements one query at a time (four round trips) rather
   * than as one batch under a single Sync. Default `true` where the client can batch (pg's
   * JavaScript client, checked once per pool); pg-native always goes one at a time. Per pool.
   */
  pipeline?: boolean
  /**
   * The most pooled connections one organization's `tenant.query` and `tenant.transaction` calls
   * hold at once; the rest of its calls wait their turn (within `acquireTimeoutMs`). Default half
   * of what tenant calls may hold.
   */
  maxConnectionsPerOrganization?: number
  /**
   * Connections of the pool tenant calls never take, kept for tenantry's own record queries
   * (sign-in, membership checks). Default a fifth of the pool's `max`, at least 1 on a pool of 2 or more.
   */
  reservedConnections?: number
  /** The longest a tenant's statement may run, unless the call says otherwise; 0 for none. Default 30000. */
  statementTimeoutMs?: number
  /** The longest a tenant transaction may sit idle between statements; 0 for none. Default 10000. */
  idleInTransactionTimeoutMs?: number
}

const TABLE = /^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$/

/**
 * On `'schema'`, each tenant's schema and role is `<schema>_<data key>` (`t_` and 24 hex digits):
 * PostgreSQL would cut a name past 63 bytes, so a longer `schema` is refused rather than truncated.
 */
const SCHEMA_STRATEGY_MAX = 63 - '_t_'.length - 24

function checkMigrations(migrations: unknown): asserts migrations is readonly PostgresMigration[] {
  const valid = (m: unknown) =>
    typeof m === 'string' ||
    (typeof m === 'object' &&
      m !== null &&
      typeof (m as { name?: unknown }).name === 'string' &&
      (m as { name: string }).name !== '' &&
      typeof (m as { sql?: unknown }).sql === 'string')
  if (!Array.isArray(migrations) || !migrations.every(valid))
    throw new TypeError('tenantry: migrations must be a list of SQL strings or { name, sql } objects')
  const names = planMigrations(migrations).map((m) => m.name)
  const twice = names.find((name, index) => names.indexOf(name) !== index)
  if (twice !== undefined) throw new TypeError(`tenantry: two migrations are named ${JSON.stringify(twice)}`)
}

/**
 * tenantry on PostgreSQL: its records (`postgresRecords`) and the tenants' rows, which a tenant
 * reaches with `tenant.transaction(fn)` and `tenant.query(text, values)`.
 *
 * @example
 * const store = postgresStore({
 *   pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }),
 *   strategy: 'rls',
 *   migrations: ['create table notes (tenant_id text not null, id uuid default gen_random_uuid(), body text not null, primary key (tenant_id, id))'],
 *   tables: ['notes'],
 * })
 */
export function postgresStore(options: PostgresStoreOptions): Store {
  // One bounded pool for records and data: a create's data space joins its record transaction by it.
  const { pool, schema } = recordsOptions(options)
  const records = recordsOn(pool, schema)
  const bounds = tenantBounds(options.pool, options)
  const { strategy, tables = [], migrations = [], tenantRole } = options
  if (strategy !== 'rls' && strategy !== 'schema') throw new TypeError("tenantry: strategy must be 'rls' or 'schema'")
  if (!Array.isArray(tables) || tables.some((table) => typeof table !== 'string' || !TABLE.test(table)))
    throw new TypeError('tenantry: tables must be lower-case table names, as notes or app.notes')
  checkMigrations(migrations)
  if (tenantRole !== undefined && (typeof tenantRole !== 'string' || !SCHEMA.test(tenantRole)))
    throw new TypeError('tenantry: tenantRole must be a lower-case PostgreSQL name')
  const shared = sharedOption(options.shared, tables)
  const planned = planMigrations(migrations)
  if (options.pipeline !== undefined && typeof options.pipeline !== 'boolean')
    throw new TypeError('tenantry: pipeline must be true or false')
  if (options.pipeline === false) sendPlainOn(pool)
  if (strategy === 'schema') {
    if (tables.length > 0)
      throw new TypeError("tenantry: tables are for 'rls'; 'schema' gives each tenant its own schema and role")
    if (schema.length > SCHEMA_STRATEGY_MAX)
      throw new TypeError(
        `tenantry: on 'schema', schema must be at most ${SCHEMA_STRATEGY_MAX} characters: each tenant's schema is named <schema>_<data key> (27 more), and PostgreSQL cuts names past 63`,
      )
    return { records, data: postgresSchemaData(pool, { schema, migrations: planned, tenantRole, shared, bounds }) }
  }
  return { records, data: postgresRlsData(pool, { schema, tables, migrations: planned, tenantRole, shared, bounds }) }
}

function sharedOption(shared: SharedTables | undefined, tables: readonly string[]): SharedTables | undefined {
  if (shared === undefined) return undefined
  if (
    typeof shared !== 'object' ||
    shared === null ||
    !Array.isArray(shared.tables) ||
    shared.tables.some((table) => typeof table !== 'string' || !TABLE.test(table))
  )
    throw new TypeError('tenantry: shared.tables must be lower-case table names, as users or app.users')
  if (shared.privileges !== undefined && shared.privileges !== 'select' && shared.privileges !== 'write')
    throw new TypeError("tenantry: shared.privileges must be 'select' or 'write'")
  const both = shared.tables.filter((table) => tables.includes(table))
  if (both.length > 0) throw new TypeError(`tenantry: ${both.join(', ')} cannot be both a tenant table and shared`)
  return shared
}
