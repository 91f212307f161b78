import type { Pool, PoolClient } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { SqlTransactionOptions } from '../../data/sql-options.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { checkDataPlane, claimDataPlane, type DataPlane, recordDataPlane } from './postgres-data-plane.js'
import { applyLedger, ensureLedger, type Ledger, type Migration } from './postgres-ledger.js'
import { setUpLock } from './postgres-migrations.js'
import {
  assertLoginRoleContained,
  dropTenantRole,
  ensureGroupRole,
  ensureTenantRole,
  groupRoleName,
} from './postgres-roles.js'
import { run } from './postgres-scope.js'
import { grantSharedTables, type SharedTables, sharedSchemas } from './postgres-shared-tables.js'
import { identifier, lockedTransaction, TABLES_NOT_COLLECTIONS, untilPassed } from './postgres-setup.js'
import type { TenantBounds } from './postgres-bounds.js'
import { runTenantStatement, runTenantTransaction } from './postgres-transaction.js'

export interface SchemaDataOptions {
  schema: string
  /** The host's DDL, applied in order in every tenant's schema, each once. */
  migrations: readonly Migration[]
  /** The group role every tenant's role is a member of. Default `<database>_tenant`. */
  tenantRole: string | undefined
  /** The host's own tables the group may reach, after the tenant's schema on `search_path`. */
  shared: SharedTables | undefined
  /** Each tenant call's share of the pool and its timeouts. */
  bounds: TenantBounds
}

/**
 * A schema and a role per tenant (the django-tenants model, with the engine's privileges on
 * top): the host's migrations run in the tenant's schema as the pool's role, which owns
 * everything there; the tenant's role may only read and write those tables. A tenant's
 * transaction runs as that role with `search_path` set to its schema, and the role has no
 * privilege on any other tenant's schema. `migrate()` brings every tenant's schema up to date at
 * deploy; a create makes the new tenant's schema, role and tables inside its own transaction.
 */
export function postgresSchemaData(pool: Pool, options: SchemaDataOptions): TenantDataProvider {
  const { schema, migrations, bounds } = options
  const s = identifier(schema)
  const plane: DataPlane = { schema, strategy: 'schema', migrations, tenantRole: options.tenantRole }
  // The group migrate() made (the default names the database), read with the check.
  let group = ''
  // Once per process, on the connection the first operation holds: never DDL, never a second connection.
  const checked = untilPassed(async () => {
    group = (await checkDataPlane(pool, plane)).role
  })
  // Named after the data key: stable for the organization's life, and not guessable from its id.
  const nameOf = (org: Pick<OrganizationRecord, 'dataKey'>) => `${schema}_${org.dataKey}`
  // The role carries the group's name, so a DBA's function can confine itself to the group's roles.
  const roleOf = (org: Pick<OrganizationRecord, 'dataKey'>) => `${group}_${org.dataKey}`
  // A tenant's statements run as its role, in its schema, then the host's shared tables' schemas.
  const after = sharedSchemas(options.shared)
  const locals = (org: OrganizationRecord, call?: SqlTransactionOptions) => ({
    role: roleOf(org),
    searchPath: [nameOf(org), ...after],
    settings: bounds.settings(call),
  })
  const ledger = (key: string): Ledger => ({ table: `${s}.schema_migrations`, key, owner: "the host's" })
  /** Makes the tenant's space if it is missing, and runs the migrations it lacks: DDL only then. */
  const bringUp = (key: string) =>
    lockedTransaction(pool, `tenantry-space:${nameOf({ dataKey: key })}`, async (client) => {
      const name = nameOf({ dataKey: key })
      const { rows } = await client.query('select 1 from pg_namespace where nspname = $1', [name])
      if (rows.length === 0) await makeSpace(client, s, { name, role: roleOf({ dataKey: key }), group, key })
      await inSearchPath(client, name, () => applyLedger(client, ledger(key), migrations))
    })

  return {
    ...TABLES_NOT_COLLECTIONS,
    async migrate() {
      const made = await lockedTransaction(pool, setUpLock(schema), async (client) => {
        await assertLoginRoleContained(client)
        const made = { ...plane, tenantRole: await groupRoleName(client, options.tenantRole) }
        await claimDataPlane(client, made)
        await ensureLedger(client, ledger(''))
        await ensureGroupRole(client, made.tenantRole)
        await grantSharedTables(client, options.shared, made.tenantRole)
        return made
      })
      group = made.tenantRole
      // Every space, a suspended organization's included, each in a transaction of its own.
      const { rows } = await run<{ key: string }>(pool, `select key from ${s}.data_spaces order by key`)
      for (const { key } of rows) await bringUp(key)
      await lockedTransaction(pool, setUpLock(schema), (client) => recordDataPlane(client, made))
      await checked()
    },
    async provision(org) {
      await checked()
      const role = roleOf(org)
      if (Buffer.byteLength(role) > 63)
        throw new Error(`tenantry: the tenant's role ${role} is longer than 63 bytes: shorten tenantRole`)
      await bringUp(org.dataKey)
    },
    async drop(org) {
      await checked()
      const name = nameOf({ dataKey: org.dataKey })
      await lockedTransaction(pool, `tenantry-space:${name}`, async (client) => {
        await client.query(`drop schema if exists ${identifier(name)} cascade`)
        await dropTenantRole(client, roleOf({ dataKey: org.dataKey }))
        await client.query(`delete from ${s}.schema_migrations where key = $1`, [org.dataKey])
        await client.query(`delete from ${s}.data_spaces where key = $1`, [org.dataKey])
      })
    },
    async listKeys() {
      await checked()
      const { rows } = await run<{ key: string }>(pool, `select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    async transaction<TResult>(
      org: OrganizationRecord,
      fn: (client: SqlClient) => Promise<TResult>,
      call?: SqlTransactionOptions,
    ) {
      await checked()
      return bounds.gate.admit(org.id, () => runTenantTransaction(pool, locals(org, call), fn))
    },
    async query(org, text, values, call) {
      await checked()
      return bounds.gate.admit(org.id, () => runTenantStatement(pool, locals(org, call), text, values))
    },
  }
}

/** The tenant's schema and role (a member of `group`), the role's privileges there, and the space's record. */
async function makeSpace(
  client: PoolClient,
  s: string,
  space: { name: string; role: string; group: string; key: string },
): Promise<void> {
  const { name, role, group, key } = space
  // Recorded first, so a space half-made by a crash is still found and swept.
  await client.query(`insert into ${s}.data_spaces (key) values ($1) on conflict do nothing`, [key])
  await ensureTenantRole(client, role, group)
  await client.query(`create schema ${identifier(name)}`)
  await client.query(`grant usage on schema ${identifier(name)} to ${identifier(role)}`)
  await client.query(
    `alter default privileges in schema ${identifier(name)} grant select, insert, update, delete on tables to ${identifier(role)}`,
  )
  await client.query(
    `alter default privileges in schema ${identifier(name)} grant usage, select on sequences to ${identifier(role)}`,
  )
}

/** Runs `fn` with `search_path` at the tenant's schema, then puts it back (a create's transaction goes on). */
async function inSearchPath<TResult>(client: PoolClient, name: string, fn: () => Promise<TResult>): Promise<TResult> {
  const { rows } = await client.query<{ path: string }>("select current_setting('search_path') as path")
  await client.query("select set_config('search_path', $1, true)", [identifier(name)])
  const result = await fn()
  await client.query("select set_config('search_path', $1, true)", [rows[0]!.path])
  return result
}
