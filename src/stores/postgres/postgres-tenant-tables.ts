import type { PoolClient } from 'pg'
import { assertNoKeyOracles } from './postgres-key-checks.js'
import { identifier } from './postgres-setup.js'
import { TENANT_SETTING } from './postgres-transaction.js'

/**
 * The tenant a row must carry: the transaction's tenant setting, with the empty string read as
 * none. A pooled connection that once ran a tenant transaction reads the setting as `''`, not
 * `NULL`, and `tenant_id = ''` must match no row there.
 */
const TENANT_PREDICATE = `tenant_id = nullif(current_setting('${TENANT_SETTING}', true), '')`

/** `app.notes` → `"app"."notes"`. */
export function qualified(table: string): string {
  return table.split('.').map(identifier).join('.')
}

/**
 * Makes `table` a tenant table: `tenant_id` (added if missing, defaulting to the transaction's
 * tenant), no key that spans tenants, row-level security enabled and forced under tenantry's
 * policies, and `role`'s grants (`role` is already quoted).
 */
export async function makeTenantTable(client: PoolClient, table: string, role: string): Promise<void> {
  const name = qualified(table)
  const { rows: found } = await client.query<{ oid: number | null }>('select to_regclass($1)::oid as oid', [name])
  const oid = found[0]?.oid
  if (!oid) throw new Error(`tenantry: table ${table} does not exist: create it in migrations, before declaring it`)
  await ensureTenantColumn(client, table, name, oid)
  await assertNoKeyOracles(client, table, oid)
  await enforcePolicies(client, name)
  await grantTenantRole(client, table, name, role)
}

async function ensureTenantColumn(client: PoolClient, table: string, name: string, oid: number): Promise<void> {
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
}

/**
 * Row-level security, forced (the tables' owner is held to it too), under a RESTRICTIVE policy:
 * PostgreSQL ORs permissive policies together, so a host's own permissive policy (a "published
 * notes" one) would otherwise widen tenantry's. A restrictive policy alone grants nothing, hence
 * the permissive companion, on the same predicate.
 */
async function enforcePolicies(client: PoolClient, name: string): Promise<void> {
  await client.query(`alter table ${name} enable row level security, force row level security`)
  await client.query(`drop policy if exists tenantry_tenant on ${name}`)
  await client.query(`drop policy if exists tenantry_tenant_rows on ${name}`)
  await client.query(
    `create policy tenantry_tenant on ${name} as restrictive using (${TENANT_PREDICATE}) with check (${TENANT_PREDICATE})`,
  )
  await client.query(
    `create policy tenantry_tenant_rows on ${name} as permissive using (${TENANT_PREDICATE}) with check (${TENANT_PREDICATE})`,
  )
}

async function grantTenantRole(client: PoolClient, table: string, name: string, role: string): Promise<void> {
  const namespace = table.includes('.') ? identifier(table.split('.')[0]!) : 'public'
  await client.query(`grant usage on schema ${namespace} to ${role}`)
  await client.query(`grant select, insert, update, delete on ${name} to ${role}`)
}
