import { createHash } from 'node:crypto'
import type { Pool, PoolClient } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { SqlTransactionOptions } from '../../data/sql-options.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { MigrationRequiredError } from '../../errors.js'
import { checkDataPlane, claimDataPlane, type DataPlane, recordDataPlane } from './postgres-data-plane.js'
import { applyLedger, ensureLedger, type Ledger, type Migration } from './postgres-ledger.js'
import { setUpLock } from './postgres-migrations.js'
import { assertNoLargeObjects } from './postgres-key-checks.js'
import { assertLoginRoleContained, ensureGroupRole, groupRoleName } from './postgres-roles.js'
import type { TenantBounds } from './postgres-bounds.js'
import { run } from './postgres-scope.js'
import { grantSharedTables, type SharedTables } from './postgres-shared-tables.js'
import { ensureRelation, identifier, lockedTransaction, TABLES_NOT_COLLECTIONS, untilPassed } from './postgres-setup.js'
import { makeTenantTable, qualified } from './postgres-tenant-tables.js'
import { runTenantStatement, runTenantTransaction, TENANT_SETTING } from './postgres-transaction.js'

export interface RlsDataOptions {
  schema: string
  /** The host's tables that hold tenant rows, as `notes` or `app.notes`. */
  tables: readonly string[]
  /** The host's DDL, applied once each, in order, before the tables are checked. */
  migrations: readonly Migration[]
  /** The role tenant transactions run as: never superuser or BYPASSRLS, no TRUNCATE. Default `<database>_tenant`. */
  tenantRole: string | undefined
  /** The host's own tables the tenant role may reach besides its rows. */
  shared: SharedTables | undefined
  /** Each tenant call's share of the pool and its timeouts. */
  bounds: TenantBounds
}

/**
 * Tenant rows in the host's shared tables, each row's `tenant_id` checked by PostgreSQL itself:
 * row-level security, enabled and forced, with a policy on the transaction's tenant setting, for
 * reads (`USING`) and writes (`WITH CHECK`). A tenant's transaction runs as `tenantRole`, which
 * has only select, insert, update and delete on those tables. `migrate()` makes all of that at
 * deploy; a request before it is refused with `MigrationRequiredError`.
 */
export function postgresRlsData(pool: Pool, options: RlsDataOptions): TenantDataProvider {
  const { schema, tables, bounds } = options
  const s = identifier(schema)
  const plane: DataPlane = {
    schema,
    strategy: 'rls',
    migrations: options.migrations,
    tables,
    tenantRole: options.tenantRole,
  }
  // The tenant role migrate() made (the default names the database), read with the check.
  let tenantRole = ''
  // Once per process, on the connection the first operation holds: never DDL, never a second connection.
  const checked = untilPassed(async () => {
    tenantRole = (await checkDataPlane(pool, plane)).role
  })

  const locals = (org: Pick<OrganizationRecord, 'id'>, call?: SqlTransactionOptions) => ({
    role: tenantRole,
    settings: { [TENANT_SETTING]: org.id, ...bounds.settings(call) },
  })
  const transaction = async <TResult>(
    org: Pick<OrganizationRecord, 'id'>,
    fn: (client: SqlClient) => Promise<TResult>,
    call?: SqlTransactionOptions,
  ): Promise<TResult> => {
    await checked()
    return bounds.gate.admit(org.id, () => runTenantTransaction(pool, locals(org, call), fn))
  }

  return {
    ...TABLES_NOT_COLLECTIONS,
    async migrate() {
      await migrate(pool, options)
      await checked()
    },
    async provision(org) {
      await checked()
      await run(pool, `insert into ${s}.data_spaces (key) values ($1) on conflict do nothing`, [org.id])
    },
    async drop(org) {
      await checked()
      // As the tenant: the policies confine each delete to its rows.
      await transaction(org, async (client) => {
        // Last declared first: a table is declared after the tables its foreign keys reference.
        for (const table of [...tables].reverse()) await client.query(`delete from ${qualified(table)}`)
      })
      await run(pool, `delete from ${s}.data_spaces where key = $1`, [org.id])
    },
    async listKeys() {
      await checked()
      const { rows } = await run<{ key: string }>(pool, `select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    transaction,
    async query(org, text, values, call) {
      await checked()
      return bounds.gate.admit(org.id, () => runTenantStatement(pool, locals(org, call), text, values))
    },
  }
}

/**
 * Applies the host's migrations, then makes every declared table a tenant table: `tenant_id`
 * (added if missing, defaulting to the transaction's tenant), no unique key without it, row-level
 * security enabled and forced with tenantry's policy, and the tenant role's grants. Idempotent;
 * concurrent instances are serialized by the set-up lock; a table already in shape is not
 * touched (no lock on it).
 */
async function migrate(pool: Pool, options: RlsDataOptions): Promise<void> {
  const { schema, tables, migrations } = options
  const s = identifier(schema)
  await lockedTransaction(pool, setUpLock(schema), async (client) => {
    await assertLoginRoleContained(client)
    const tenantRole = await groupRoleName(client, options.tenantRole)
    const plane: DataPlane = { schema, strategy: 'rls', migrations, tables, tenantRole }
    await claimDataPlane(client, plane)
    const ledger: Ledger = { table: `${s}.data_migrations`, owner: "the host's" }
    await ensureLedger(client, ledger)
    await ensureRelation(
      client,
      `${s}.tenant_tables`,
      `create table ${s}.tenant_tables (name text primary key, fingerprint text not null)`,
    )
    // The role first: the host's migrations may grant it what its views or functions need.
    await ensureGroupRole(client, tenantRole)
    await assertNoLargeObjects(client, tenantRole)
    await applyLedger(client, ledger, migrations)
    for (const table of tables) await adoptTable(client, schema, table, tenantRole)
    await grantSharedTables(client, options.shared, tenantRole)
    await recordDataPlane(client, plane)
  })
}

/**
 * Makes `table` a tenant table unless the catalog shows it already is one, as tenantry last left
 * it: same columns, keys, policies, grants and security flags (a fingerprint recorded after each
 * set-up), made by this same set-up code. Rows without a tenant are refused by name before.
 */
async function adoptTable(client: PoolClient, schema: string, table: string, role: string): Promise<void> {
  const s = identifier(schema)
  const before = await fingerprint(client, table, role)
  const { rows } = await client.query(`select 1 from ${s}.tenant_tables where name = $1 and fingerprint = $2`, [
    table,
    before,
  ])
  if (before !== null && rows.length > 0) return
  await refuseRowsWithoutTenant(client, table)
  await makeTenantTable(client, table, identifier(role))
  await client.query(
    `insert into ${s}.tenant_tables (name, fingerprint) values ($1, $2) on conflict (name) do update set fingerprint = excluded.fingerprint`,
    [table, await fingerprint(client, table, role)],
  )
}

// What makes a tenant table changes with tenantry's code: a new version's set-up runs once.
const SET_UP_CODE = createHash('sha256')
  .update(String(makeTenantTable) + String(ensureGroupRole))
  .digest('hex')

/** The catalog's account of a table, everything tenantry's set-up makes or checks; null when missing. */
async function fingerprint(client: PoolClient, table: string, role: string): Promise<string | null> {
  const { rows } = await client.query<{ catalog: string | null }>(
    `select concat_ws('|', c.relrowsecurity, c.relforcerowsecurity, c.relacl::text, n.nspacl::text,
       (select string_agg(concat_ws(',', p.polname, p.polpermissive, p.polcmd, p.polroles::text,
          pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)), ';' order by p.polname)
        from pg_policy p where p.polrelid = c.oid),
       (select string_agg(concat_ws(',', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
          pg_get_expr(d.adbin, d.adrelid), (select s.relacl::text from pg_class s where s.oid = pg_get_serial_sequence($1, a.attname)::regclass)), ';' order by a.attnum)
        from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped),
       (select string_agg(pg_get_indexdef(i.indexrelid), ';' order by i.indexrelid) from pg_index i where i.indrelid = c.oid),
       (select string_agg(pg_get_constraintdef(o.oid), ';' order by o.conname) from pg_constraint o where o.conrelid = c.oid)
     ) as catalog
     from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass($1)`,
    [qualified(table)],
  )
  const catalog = rows[0]?.catalog
  return catalog == null ? null : createHash('sha256').update(`${SET_UP_CODE}|${role}|${catalog}`).digest('hex')
}

/**
 * A table that already holds rows cannot be given owners by tenantry: `NOT NULL` would refuse
 * them. The host assigns them first (docs/stores.md, "Adopting a table that has rows").
 */
async function refuseRowsWithoutTenant(client: PoolClient, table: string): Promise<void> {
  const { rows: column } = await client.query<{ notnull: boolean }>(
    "select attnotnull as notnull from pg_attribute where attrelid = to_regclass($1) and attname = 'tenant_id' and not attisdropped",
    [qualified(table)],
  )
  if (column.length === 0) {
    const { rows: found } = await client.query('select to_regclass($1) as oid', [qualified(table)])
    if (found[0]?.oid == null) return
  } else if (column[0]!.notnull) return
  const { rows } = await client.query(
    `select 1 from ${qualified(table)}${column.length === 0 ? '' : ' where tenant_id is null'} limit 1`,
  )
  if (rows.length > 0)
    throw new MigrationRequiredError(
      `tenantry: table ${table} has rows without a tenant_id, which no tenant would own: assign each to its organization first (docs/stores.md, "Adopting a table that has rows": add the tenant_id column, set it from a mapping to organization ids, then run tenancy.migrate() again)`,
    )
}
