import type { PoolClient } from 'pg'
import { identifier } from './postgres-setup.js'

/**
 * Roles that reach past every tenant's walls: a shell on the server (`COPY ... TO PROGRAM`), its
 * files, or every table regardless of grants (`pg_read_all_data` reads every 'schema' tenant).
 */
const DANGEROUS = [
  'pg_execute_server_program',
  'pg_read_server_files',
  'pg_write_server_files',
  'pg_read_all_data',
  'pg_write_all_data',
]

/** The DBA-installed functions that make and drop tenant roles, so the app needs no CREATEROLE. */
const CREATE_FUNCTION = 'tenantry_roles.create_tenant_role(text)'
const DROP_FUNCTION = 'tenantry_roles.drop_tenant_role(text)'

async function serverVersion(client: PoolClient): Promise<number> {
  const { rows } = await client.query<{ v: string }>("select current_setting('server_version_num') as v")
  return Number(rows[0]!.v)
}

/**
 * Refuses to start when the pool's login role, or a role it can become, could step outside the
 * engine's checks: a superuser, BYPASSRLS, a member (or, with ADMIN, a grantor) of a role in
 * `DANGEROUS`, or, on PostgreSQL 15 and older, CREATEROLE, which there may grant any
 * non-superuser role, `pg_execute_server_program` included.
 */
export async function assertLoginRoleContained(client: PoolClient): Promise<void> {
  const version = await serverVersion(client)
  const { rows } = await client.query<{ rolname: string; reason: string }>(
    `with recursive reach(oid) as (
       select oid from pg_roles where rolname = session_user
       union select m.roleid from pg_auth_members m join reach on m.member = reach.oid)
     select r.rolname, case
       when r.rolsuper then 'is a superuser'
       when r.rolbypassrls then 'has BYPASSRLS'
       when r.rolname = any($1) then 'is ' || r.rolname
       when exists (select 1 from pg_auth_members m join pg_roles d on d.oid = m.roleid
                    where m.member = r.oid and m.admin_option and d.rolname = any($1)) then 'may grant a role in ' || array_to_string($1, ', ')
       when r.rolcreaterole and $2 then 'has CREATEROLE, which on PostgreSQL 15 and older may grant itself pg_execute_server_program'
     end as reason
     from pg_roles r join reach using (oid)`,
    [DANGEROUS, version < 160000],
  )
  const unsafe = rows.filter((row) => row.reason !== null)
  if (unsafe.length > 0)
    throw new Error(
      `tenantry: the pool's role may step outside the database's checks: ${unsafe.map((row) => `${row.rolname} ${row.reason}`).join('; ')}. Connect as a role with none of these (docs/stores.md, "The roles")`,
    )
}

/**
 * Whether the pool's login role may `SET ROLE` to `name`. Since PostgreSQL 16 a membership can
 * lack the SET option (a role's creator is a member without it), so 'MEMBER' is not enough
 * there; PostgreSQL 15 knows no 'SET' privilege, and membership alone allows SET ROLE.
 */
async function canBecome(client: PoolClient, name: string): Promise<boolean> {
  const privilege = (await serverVersion(client)) >= 160000 ? 'SET' : 'MEMBER'
  const { rows } = await client.query<{ can: boolean }>(`select pg_has_role(session_user, $1, '${privilege}') as can`, [
    name,
  ])
  return rows[0]!.can
}

async function refuseUnchecked(client: PoolClient, name: string): Promise<boolean> {
  const { rows } = await client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
    'select rolsuper, rolbypassrls from pg_roles where rolname = $1',
    [name],
  )
  if (rows[0]?.rolsuper || rows[0]?.rolbypassrls)
    throw new Error(
      `tenantry: the tenant role ${name} is a superuser or has BYPASSRLS, so the database's checks would not apply to it`,
    )
  return rows.length === 1
}

/** Lets the login role become `name`, or says what the DBA has to grant. */
async function ensureBecomes(client: PoolClient, name: string): Promise<void> {
  if (await canBecome(client, name)) return
  await client.query(`grant ${identifier(name)} to session_user`).catch((err: Error) => {
    throw new Error(
      `tenantry: the pool's role may not become ${name}; as the DBA, run: grant ${name} to <the pool's role>`,
      {
        cause: err,
      },
    )
  })
}

/**
 * Makes sure the group role `name` exists (the 'rls' tenants' role; on 'schema', the role every
 * tenant's role is a member of) and that the pool's role may become it. Created only where the
 * pool's role may create roles (PostgreSQL 16+ with CREATEROLE); else the DBA creates it once.
 */
export async function ensureGroupRole(client: PoolClient, name: string): Promise<void> {
  if (!(await refuseUnchecked(client, name)))
    await client.query(`create role ${identifier(name)} nologin`).catch((err: Error) => {
      throw new Error(
        `tenantry: the role ${name} does not exist and the pool's role may not create it; as the DBA, run: create role ${name} nologin; grant ${name} to <the pool's role>`,
        { cause: err },
      )
    })
  await ensureBecomes(client, name)
}

/**
 * Makes sure a tenant's own role `name` exists as a member of `group` and that the pool's role
 * may become it: through the DBA's `tenantry_roles.create_tenant_role` when it is installed (the
 * pool's role then needs no CREATEROLE), else with CREATE ROLE.
 */
export async function ensureTenantRole(client: PoolClient, name: string, group: string): Promise<void> {
  if (!(await refuseUnchecked(client, name))) {
    if (await installed(client, CREATE_FUNCTION))
      await client.query('select tenantry_roles.create_tenant_role($1)', [name])
    else await client.query(`create role ${identifier(name)} nologin in role ${identifier(group)}`)
  }
  await ensureBecomes(client, name)
}

/** Drops a tenant's own role and what it was granted, through the DBA's function when installed. */
export async function dropTenantRole(client: PoolClient, name: string): Promise<void> {
  const { rowCount } = await client.query('select 1 from pg_roles where rolname = $1', [name])
  if (!rowCount) return
  if (await installed(client, DROP_FUNCTION)) {
    await client.query('select tenantry_roles.drop_tenant_role($1)', [name])
    return
  }
  // What the role was granted here goes with it (DROP ROLE refuses a role that holds any).
  await client.query(`drop owned by ${identifier(name)}`)
  await client.query(`drop role ${identifier(name)}`)
}

async function installed(client: PoolClient, signature: string): Promise<boolean> {
  const { rows } = await client.query<{ oid: number | null }>('select to_regprocedure($1)::oid as oid', [signature])
  return rows[0]?.oid != null
}

/**
 * The group role's name: the host's, or `<database>_tenant`, so two databases on one server
 * never share one. Refused, not truncated, past PostgreSQL's 63 bytes.
 */
export async function groupRoleName(client: PoolClient, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured
  const { rows } = await client.query<{ name: string }>("select current_database() || '_tenant' as name")
  const name = rows[0]!.name
  if (Buffer.byteLength(name) > 63)
    throw new Error(`tenantry: the default tenant role ${name} is longer than 63 bytes: name one with tenantRole`)
  return name
}
