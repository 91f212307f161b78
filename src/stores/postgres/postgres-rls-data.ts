import type { Pool, PoolClient } from 'pg'
import type { OrganizationRecord } from '../../control/records.js'
import type { SqlClient } from '../../data/sql-client.js'
import type { SqlTransactionOptions } from '../../data/sql-options.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { ensureRole, identifier, lockedTransaction, once, TABLES_NOT_COLLECTIONS } from './postgres-setup.js'
import type { TenantBounds } from './postgres-bounds.js'
import { run } from './postgres-scope.js'
import { runTenantStatement, runTenantTransaction, TENANT_SETTING } from './postgres-transaction.js'

export interface RlsDataOptions {
  schema: string
  /** The host's tables that hold tenant rows, as `notes` or `app.notes`. */
  tables: readonly string[]
  /** The host's DDL, applied once each, in order, before the tables are checked. */
  migrations: readonly string[]
  /** The role tenant transactions run as: never superuser or BYPASSRLS, no TRUNCATE. */
  tenantRole: string
  /** Each tenant call's share of the pool and its timeouts. */
  bounds: TenantBounds
}

/**
 * Tenant rows in the host's shared tables, each row's `tenant_id` checked by PostgreSQL itself:
 * row-level security, enabled and forced, with a policy on the transaction's tenant setting, for
 * reads (`USING`) and writes (`WITH CHECK`). A tenant's transaction runs as `tenantRole`, which
 * has only select, insert, update and delete on those tables.
 */
export function postgresRlsData(pool: Pool, options: RlsDataOptions): TenantDataProvider {
  const { schema, tables, tenantRole, bounds } = options
  const s = identifier(schema)
  const prepared = once(() => prepare(pool, options))

  const locals = (org: Pick<OrganizationRecord, 'id'>, call?: SqlTransactionOptions) => ({
    role: tenantRole,
    settings: { [TENANT_SETTING]: org.id, ...bounds.settings(call) },
  })
  const transaction = async <TResult>(
    org: Pick<OrganizationRecord, 'id'>,
    fn: (client: SqlClient) => Promise<TResult>,
    call?: SqlTransactionOptions,
  ): Promise<TResult> => {
    await prepared()
    return bounds.gate.admit(org.id, () => runTenantTransaction(pool, locals(org, call), fn))
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
        for (const table of tables) await client.query(`delete from ${qualified(table)}`)
      })
      await pool.query(`delete from ${s}.data_spaces where key = $1`, [org.id])
    },
    async listKeys() {
      await prepared()
      const { rows } = await pool.query<{ key: string }>(`select key from ${s}.data_spaces order by key`)
      return rows.map((row) => row.key)
    },
    transaction,
    async query(org, text, values, call) {
      await prepared()
      return bounds.gate.admit(org.id, () => runTenantStatement(pool, locals(org, call), text, values))
    },
  }
}

/** `app.notes` → `"app"."notes"`. */
function qualified(table: string): string {
  return table.split('.').map(identifier).join('.')
}

/**
 * Applies the host's migrations, then makes every declared table a tenant table: `tenant_id`
 * (added if missing, defaulting to the transaction's tenant), no unique key without it, row-level
 * security enabled and forced with tenantry's policy, and the tenant role's grants. Idempotent;
 * concurrent instances are serialized by an advisory lock.
 */
async function prepare(pool: Pool, options: RlsDataOptions): Promise<void> {
  const { schema, tables, migrations, tenantRole } = options
  const s = identifier(schema)
  await lockedTransaction(pool, `tenantry-data:${schema}`, async (client) => {
    await client.query(`create schema if not exists ${s}`)
    await client.query(
      `create table if not exists ${s}.data_migrations (version integer primary key, applied_at timestamptz not null default now())`,
    )
    await client.query(
      `create table if not exists ${s}.data_spaces (key text primary key, created_at timestamptz not null default now())`,
    )
    // The role first: the host's migrations may grant it what its views or functions need.
    await ensureRole(client, tenantRole)
    const { rows } = await client.query<{ version: number }>(
      `select coalesce(max(version), 0) as version from ${s}.data_migrations`,
    )
    for (let version = rows[0]!.version + 1; version <= migrations.length; version++) {
      await client.query(migrations[version - 1]!)
      await client.query(`insert into ${s}.data_migrations (version) values ($1)`, [version])
    }
    for (const table of tables) await makeTenantTable(client, table, identifier(tenantRole))
  })
}

async function makeTenantTable(client: PoolClient, table: string, role: string): Promise<void> {
  const name = qualified(table)
  const { rows: found } = await client.query<{ oid: number | null }>('select to_regclass($1)::oid as oid', [name])
  const oid = found[0]?.oid
  if (!oid) throw new Error(`tenantry: table ${table} does not exist: create it in migrations, before declaring it`)
  const { rows: column } = await client.query<{ type: string }>(
    `select format_type(atttypid, atttypmod) as type from pg_attribute where attrelid = $1 and attname = 'tenant_id' and not attisdropped`,
    [oid],
  )
  // Added without a default first: a default given with the column is evaluated right away,
  // where no tenant is set. A table with rows already cannot be given owners: NOT NULL refuses it.
  if (column.length === 0) await client.query(`alter table ${name} add column tenant_id text`)
  else if (column[0]!.type !== 'text')
    throw new Error(`tenantry: ${table}.tenant_id must be text, not ${column[0]!.type}`)
  await client.query(
    `alter table ${name} alter column tenant_id set default current_setting('${TENANT_SETTING}'), alter column tenant_id set not null`,
  )
  // A unique key across tenants answers "taken" for another tenant's value: an oracle.
  const { rows: unique } = await client.query<{ index: string }>(
    `select i.indexrelid::regclass::text as index from pg_index i
     where i.indrelid = $1 and i.indisunique
       and not exists (select 1 from pg_attribute a where a.attrelid = i.indrelid and a.attname = 'tenant_id' and a.attnum = any(i.indkey))`,
    [oid],
  )
  if (unique.length > 0)
    throw new Error(
      `tenantry: ${table}'s unique ${unique.map((row) => row.index).join(', ')} must include tenant_id (primary key (tenant_id, id)): a key unique across tenants tells one tenant what another holds`,
    )
  const policy = `tenant_id = current_setting('${TENANT_SETTING}', true)`
  await client.query(`alter table ${name} enable row level security, force row level security`)
  await client.query(`drop policy if exists tenantry_tenant on ${name}`)
  await client.query(`create policy tenantry_tenant on ${name} using (${policy}) with check (${policy})`)
  const namespace = table.includes('.') ? identifier(table.split('.')[0]!) : 'public'
  await client.query(`grant usage on schema ${namespace} to ${role}`)
  await client.query(`grant select, insert, update, delete on ${name} to ${role}`)
  // Serial columns' sequences: a tenant's insert draws from them.
  const { rows: sequences } = await client.query<{ sequence: string }>(
    `select pg_get_serial_sequence($1, attname) as sequence from pg_attribute
     where attrelid = $2 and attnum > 0 and not attisdropped and pg_get_serial_sequence($1, attname) is not null`,
    [name, oid],
  )
  for (const { sequence } of sequences) await client.query(`grant usage, select on sequence ${sequence} to ${role}`)
}
