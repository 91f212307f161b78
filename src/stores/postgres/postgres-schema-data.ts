import type { Pool } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { SqlTransactionOptions } from '../../data/sql-options.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { ensureRole, identifier, lockedTransaction, once, TABLES_NOT_COLLECTIONS } from './postgres-setup.js'
import type { TenantBounds } from './postgres-bounds.js'
import { runTenantStatement, runTenantTransaction } from './postgres-transaction.js'

export interface SchemaDataOptions {
  schema: string
  /** The host's DDL, applied in order in every tenant's schema, each once. */
  migrations: readonly string[]
  /** Each tenant call's share of the pool and its timeouts. */
  bounds: TenantBounds
}

/**
 * A schema and a role per tenant (the django-tenants model, with the engine's privileges on
 * top): the host's migrations run in the tenant's schema as the pool's role, which owns
 * everything there; the tenant's role may only read and write those tables. A tenant's
 * transaction runs as that role with `search_path` set to its schema, and the role has no
 * privilege on any other tenant's schema.
 */
export function postgresSchemaData(pool: Pool, options: SchemaDataOptions): TenantDataProvider {
  const { schema, migrations, bounds } = options
  const s = identifier(schema)
  const prepared = once(() => prepare(pool, schema))
  // Named after the data key: stable for the organization's life, and not guessable from its id.
  const nameOf = (org: Pick<OrganizationRecord, 'dataKey'>) => `${schema}_${org.dataKey}`
  // A tenant's statements run as its role, in its schema.
  const locals = (org: OrganizationRecord, call?: SqlTransactionOptions) => ({
    role: nameOf(org),
    searchPath: nameOf(org),
    settings: bounds.settings(call),
  })

  return {
    ...TABLES_NOT_COLLECTIONS,
    async provision(org) {
      await prepared()
      const name = nameOf(org)
      await lockedTransaction(pool, `tenantry-space:${name}`, async (client) => {
        // Recorded first, so a space half-made by a crash is still found and swept.
        await client.query(`insert into ${s}.data_spaces (key) values ($1) on conflict do nothing`, [org.dataKey])
        await ensureRole(client, name)
        await client.query(`create schema if not exists ${identifier(name)}`)
        await client.query(`grant usage on schema ${identifier(name)} to ${identifier(name)}`)
        await client.query(
          `alter default privileges in schema ${identifier(name)} grant select, insert, update, delete on tables to ${identifier(name)}`,
        )
        await client.query(
          `alter default privileges in schema ${identifier(name)} grant usage, select on sequences to ${identifier(name)}`,
        )
        const { rows } = await client.query<{ version: number }>(
          `select coalesce(max(version), 0) as version from ${s}.schema_migrations where key = $1`,
          [org.dataKey],
        )
        await client.query(`set local search_path to ${identifier(name)}`)
        for (let version = rows[0]!.version + 1; version <= migrations.length; version++) {
          await client.query(migrations[version - 1]!)
          await client.query(`insert into ${s}.schema_migrations (key, version) values ($1, $2)`, [
            org.dataKey,
            version,
          ])
        }
      })
    },
    async drop(org) {
      await prepared()
      const name = nameOf({ dataKey: org.dataKey })
      await lockedTransaction(pool, `tenantry-space:${name}`, async (client) => {
        await client.query(`drop schema if exists ${identifier(name)} cascade`)
        const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [name])
        if (rowCount) {
          // What the role was granted here goes with it (DROP ROLE refuses a role that holds any).
          await client.query(`drop owned by ${identifier(name)}`)
          await client.query(`drop role ${identifier(name)}`)
        }
        await client.query(`delete from ${s}.schema_migrations where key = $1`, [org.dataKey])
        await client.query(`delete from ${s}.data_spaces where key = $1`, [org.dataKey])
      })
    },
    async listKeys() {
      await prepared()
      const { rows } = await pool.query<{ key: string }>(`select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    async transaction<TResult>(
      org: OrganizationRecord,
      fn: (client: SqlClient) => Promise<TResult>,
      call?: SqlTransactionOptions,
    ) {
      await prepared()
      return bounds.gate.admit(org.id, () => runTenantTransaction(pool, locals(org, call), fn))
    },
    async query(org, text, values, call) {
      await prepared()
      return bounds.gate.admit(org.id, () => runTenantStatement(pool, locals(org, call), text, values))
    },
  }
}

async function prepare(pool: Pool, schema: string): Promise<void> {
  const s = identifier(schema)
  await lockedTransaction(pool, `tenantry-data:${schema}`, async (client) => {
    await client.query(`create schema if not exists ${s}`)
    await client.query(
      `create table if not exists ${s}.data_spaces (key text primary key, created_at timestamptz not null default now())`,
    )
    await client.query(
      `create table if not exists ${s}.schema_migrations (key text not null, version integer not null, applied_at timestamptz not null default now(), primary key (key, version))`,
    )
  })
}
