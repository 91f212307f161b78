import type { Pool } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { assertNoLargeObjects } from './postgres-key-checks.js'
import { assertLoginRoleContained, ensureGroupRole, groupRoleName } from './postgres-roles.js'
import { run } from './postgres-scope.js'
import { grantSharedTables, type SharedTables } from './postgres-shared-tables.js'
import { identifier, lockedTransaction, once, TABLES_NOT_COLLECTIONS } from './postgres-setup.js'
import { makeTenantTable, qualified } from './postgres-tenant-tables.js'
import { runTenantStatement, runTenantTransaction, TENANT_SETTING } from './postgres-transaction.js'

export interface RlsDataOptions {
  schema: string
  /** The host's tables that hold tenant rows, as `notes` or `app.notes`. */
  tables: readonly string[]
  /** The host's DDL, applied once each, in order, before the tables are checked. */
  migrations: readonly string[]
  /** The role tenant transactions run as: never superuser or BYPASSRLS, no TRUNCATE. Default `<database>_tenant`. */
  tenantRole: string | undefined
  /** The host's own tables the tenant role may reach besides its rows. */
  shared: SharedTables | undefined
}

/**
 * Tenant rows in the host's shared tables, each row's `tenant_id` checked by PostgreSQL itself:
 * row-level security, enabled and forced, with a policy on the transaction's tenant setting, for
 * reads (`USING`) and writes (`WITH CHECK`). A tenant's transaction runs as `tenantRole`, which
 * has only select, insert, update and delete on those tables.
 */
export function postgresRlsData(pool: Pool, options: RlsDataOptions): TenantDataProvider {
  const { schema, tables } = options
  const s = identifier(schema)
  // The tenant role's name, known once set-up has run (the default names the database).
  let tenantRole = ''
  const prepared = once(async () => {
    tenantRole = await prepare(pool, options)
  })

  const locals = (org: Pick<OrganizationRecord, 'id'>) => ({ role: tenantRole, settings: { [TENANT_SETTING]: org.id } })
  const transaction = async <TResult>(
    org: Pick<OrganizationRecord, 'id'>,
    fn: (client: SqlClient) => Promise<TResult>,
  ): Promise<TResult> => {
    await prepared()
    return runTenantTransaction(pool, locals(org), fn)
  }

  return {
    ...TABLES_NOT_COLLECTIONS,
    async provision(org) {
      await prepared()
      await run(pool, `insert into ${s}.data_spaces (key) values ($1) on conflict do nothing`, [org.id])
    },
    async drop(org) {
      await prepared()
      // As the tenant: the policies confine each delete to its rows.
      await transaction(org, async (client) => {
        // Last declared first: a table is declared after the tables its foreign keys reference.
        for (const table of [...tables].reverse()) await client.query(`delete from ${qualified(table)}`)
      })
      await run(pool, `delete from ${s}.data_spaces where key = $1`, [org.id])
    },
    async listKeys() {
      await prepared()
      const { rows } = await run<{ key: string }>(pool, `select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    transaction,
    async query(org, text, values) {
      await prepared()
      return runTenantStatement(pool, locals(org), text, values)
    },
  }
}

/**
 * Applies the host's migrations, then makes every declared table a tenant table: `tenant_id`
 * (added if missing, defaulting to the transaction's tenant), no unique key without it, row-level
 * security enabled and forced with tenantry's policy, and the tenant role's grants. Idempotent;
 * concurrent instances are serialized by an advisory lock.
 */
async function prepare(pool: Pool, options: RlsDataOptions): Promise<string> {
  const { schema, tables, migrations } = options
  const s = identifier(schema)
  return lockedTransaction(pool, `tenantry-data:${schema}`, async (client) => {
    await assertLoginRoleContained(client)
    const tenantRole = await groupRoleName(client, options.tenantRole)
    await client.query(`create schema if not exists ${s}`)
    await client.query(
      `create table if not exists ${s}.data_migrations (version integer primary key, applied_at timestamptz not null default now())`,
    )
    await client.query(
      `create table if not exists ${s}.data_spaces (key text primary key, created_at timestamptz not null default now())`,
    )
    // The role first: the host's migrations may grant it what its views or functions need.
    await ensureGroupRole(client, tenantRole)
    await assertNoLargeObjects(client, tenantRole)
    const { rows } = await client.query<{ version: number }>(
      `select coalesce(max(version), 0) as version from ${s}.data_migrations`,
    )
    for (let version = rows[0]!.version + 1; version <= migrations.length; version++) {
      await client.query(migrations[version - 1]!)
      await client.query(`insert into ${s}.data_migrations (version) values ($1)`, [version])
    }
    for (const table of tables) await makeTenantTable(client, table, identifier(tenantRole))
    await grantSharedTables(client, options.shared, tenantRole)
    return tenantRole
  })
}
