import type { Pool } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import {
  assertLoginRoleContained,
  dropTenantRole,
  ensureGroupRole,
  ensureTenantRole,
  groupRoleName,
} from './postgres-roles.js'
import { run } from './postgres-scope.js'
import { grantSharedTables, type SharedTables, sharedSchemas } from './postgres-shared-tables.js'
import { identifier, lockedTransaction, once, TABLES_NOT_COLLECTIONS } from './postgres-setup.js'
import { runTenantStatement, runTenantTransaction } from './postgres-transaction.js'

export interface SchemaDataOptions {
  schema: string
  /** The host's DDL, applied in order in every tenant's schema, each once. */
  migrations: readonly string[]
  /** The group role every tenant's role is a member of. Default `<database>_tenant`. */
  tenantRole: string | undefined
  /** The host's own tables the group may reach, after the tenant's schema on `search_path`. */
  shared: SharedTables | undefined
}

/**
 * A schema and a role per tenant (the django-tenants model, with the engine's privileges on
 * top): the host's migrations run in the tenant's schema as the pool's role, which owns
 * everything there; the tenant's role may only read and write those tables. A tenant's
 * transaction runs as that role with `search_path` set to its schema, and the role has no
 * privilege on any other tenant's schema.
 */
export function postgresSchemaData(pool: Pool, options: SchemaDataOptions): TenantDataProvider {
  const { schema, migrations } = options
  const s = identifier(schema)
  // The group's name, known once set-up has run (the default names the database).
  let group = ''
  const prepared = once(async () => {
    group = await prepare(pool, options)
  })
  // Named after the data key: stable for the organization's life, and not guessable from its id.
  const schemaOf = (org: Pick<OrganizationRecord, 'dataKey'>) => `${schema}_${org.dataKey}`
  // The role carries the group's name, so a DBA's function can confine itself to the group's roles.
  const roleOf = (org: Pick<OrganizationRecord, 'dataKey'>) => `${group}_${org.dataKey}`
  // A tenant's statements run as its role, in its schema.
  const after = sharedSchemas(options.shared)
  const locals = (org: OrganizationRecord) => ({ role: roleOf(org), searchPath: [schemaOf(org), ...after] })

  return {
    ...TABLES_NOT_COLLECTIONS,
    async provision(org) {
      await prepared()
      const name = schemaOf(org)
      const role = roleOf(org)
      if (Buffer.byteLength(role) > 63 || Buffer.byteLength(name) > 63)
        throw new Error(
          `tenantry: the tenant's role ${role} or schema ${name} is longer than 63 bytes: shorten tenantRole or schema`,
        )
      await lockedTransaction(pool, `tenantry-space:${name}`, async (client) => {
        // Recorded first, so a space half-made by a crash is still found and swept.
        await client.query(`insert into ${s}.data_spaces (key) values ($1) on conflict do nothing`, [org.dataKey])
        await ensureTenantRole(client, role, group)
        await client.query(`create schema if not exists ${identifier(name)}`)
        await client.query(`grant usage on schema ${identifier(name)} to ${identifier(role)}`)
        await client.query(
          `alter default privileges in schema ${identifier(name)} grant select, insert, update, delete on tables to ${identifier(role)}`,
        )
        await client.query(
          `alter default privileges in schema ${identifier(name)} grant usage, select on sequences to ${identifier(role)}`,
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
      const name = schemaOf({ dataKey: org.dataKey })
      await lockedTransaction(pool, `tenantry-space:${name}`, async (client) => {
        await client.query(`drop schema if exists ${identifier(name)} cascade`)
        await dropTenantRole(client, roleOf({ dataKey: org.dataKey }))
        await client.query(`delete from ${s}.schema_migrations where key = $1`, [org.dataKey])
        await client.query(`delete from ${s}.data_spaces where key = $1`, [org.dataKey])
      })
    },
    async listKeys() {
      await prepared()
      const { rows } = await run<{ key: string }>(pool, `select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    async transaction<TResult>(org: OrganizationRecord, fn: (client: SqlClient) => Promise<TResult>) {
      await prepared()
      return runTenantTransaction(pool, locals(org), fn)
    },
    async query(org, text, values) {
      await prepared()
      return runTenantStatement(pool, locals(org), text, values)
    },
  }
}

async function prepare(pool: Pool, options: SchemaDataOptions): Promise<string> {
  const s = identifier(options.schema)
  return lockedTransaction(pool, `tenantry-data:${options.schema}`, async (client) => {
    await assertLoginRoleContained(client)
    const group = await groupRoleName(client, options.tenantRole)
    await ensureGroupRole(client, group)
    await grantSharedTables(client, options.shared, group)
    await client.query(`create schema if not exists ${s}`)
    await client.query(
      `create table if not exists ${s}.data_spaces (key text primary key, created_at timestamptz not null default now())`,
    )
    await client.query(
      `create table if not exists ${s}.schema_migrations (key text not null, version integer not null, applied_at timestamptz not null default now(), primary key (key, version))`,
    )
    return group
  })
}
