import type { Pool } from 'pg'
import type { RecordStore } from '../../control/record-store.js'
import type { Store } from '../../store.js'
import { boundedPool } from './postgres-bounded-pool.js'
import { acquireTimeoutOf, tenantBounds } from './postgres-bounds.js'
import { postgresRecords as recordsOn } from './postgres-records.js'
import { postgresRlsData } from './postgres-rls-data.js'
import { postgresSchemaData } from './postgres-schema-data.js'

export interface PostgresRecordsOptions {
  /** The host's pool. Its role needs to create the schema, or own it once a DBA created it. */
  pool: Pool
  /** The schema tenantry's tables live in. Default `tenantry`. */
  schema?: string
  /**
   * How long a call waits for a pooled connection before it answers `DatabaseUnavailableError`
   * (HTTP 503, retryable) instead of hanging behind a full pool. Default 5000. A pool whose own
   * `connectionTimeoutMillis` is shorter keeps that.
   */
  acquireTimeoutMs?: number
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * tenantry's records on PostgreSQL. The schema is created and migrated on first use (under an
 * advisory lock, so instances starting together migrate once); unique constraints and
 * conditional `UPDATE`s keep the record store's contract under concurrency.
 *
 * @example
 * const store = { records: postgresRecords({ pool: new pg.Pool() }), data: memoryStore().data }
 */
export function postgresRecords(options: PostgresRecordsOptions): Required<RecordStore> {
  const { pool, schema, acquireTimeoutMs } = recordsOptions(options)
  return recordsOn(boundedPool(pool, acquireTimeoutMs), schema)
}

/** The options both factories share, checked: a TypeError at construction for any misuse. */
function recordsOptions(options: PostgresRecordsOptions) {
  if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function')
    throw new TypeError('tenantry: postgresRecords needs { pool }, a Pool from the pg package')
  const { pool, schema = 'tenantry' } = options
  if (typeof schema !== 'string' || !SCHEMA.test(schema))
    throw new TypeError(
      'tenantry: schema must be a lower-case PostgreSQL name: a letter or _, then up to 62 of [a-z0-9_]',
    )
  return { pool, schema, acquireTimeoutMs: acquireTimeoutOf(options) }
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
   */
  migrations?: readonly string[]
  /** `'rls'`: the role tenant transactions run as (created if missing). Default `<schema>_tenant`. */
  tenantRole?: string
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
 * tenantry on PostgreSQL: its records (`postgresRecords`) and the tenants' rows, which a tenant
 * reaches with `tenant.transaction(fn)` and `tenant.query(text, values)`.
 *
 * @example
 * const store = postgresStore({
 *   pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }),
 *   strategy: 'rls',
 *   migrations: ['create table notes (tenant_id text not null, id bigint generated always as identity, body text not null, primary key (tenant_id, id))'],
 *   tables: ['notes'],
 * })
 */
export function postgresStore(options: PostgresStoreOptions): Store {
  const { schema, acquireTimeoutMs } = recordsOptions(options)
  const { strategy, tables = [], migrations = [] } = options
  // One bounded pool for records and data: a create's data space joins its record transaction by it.
  const pool = boundedPool(options.pool, acquireTimeoutMs)
  const records = recordsOn(pool, schema)
  const bounds = tenantBounds(options.pool, options)
  const tenantRole = options.tenantRole ?? `${schema}_tenant`
  if (strategy !== 'rls' && strategy !== 'schema') throw new TypeError("tenantry: strategy must be 'rls' or 'schema'")
  if (!Array.isArray(tables) || tables.some((table) => typeof table !== 'string' || !TABLE.test(table)))
    throw new TypeError('tenantry: tables must be lower-case table names, as notes or app.notes')
  if (!Array.isArray(migrations) || migrations.some((migration) => typeof migration !== 'string'))
    throw new TypeError('tenantry: migrations must be a list of SQL strings')
  if (typeof tenantRole !== 'string' || !SCHEMA.test(tenantRole))
    throw new TypeError('tenantry: tenantRole must be a lower-case PostgreSQL name')
  if (strategy === 'schema') {
    if (tables.length > 0 || options.tenantRole !== undefined)
      throw new TypeError(
        "tenantry: tables and tenantRole are for 'rls'; 'schema' gives each tenant its own schema and role",
      )
    return { records, data: postgresSchemaData(pool, { schema, migrations, bounds }) }
  }
  return { records, data: postgresRlsData(pool, { schema, tables, migrations, tenantRole, bounds }) }
}
