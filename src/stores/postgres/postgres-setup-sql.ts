/**
 * The statements a DBA (a superuser) runs once per database for tenantry's documented set-up
 * (docs/stores.md, "The roles"), so the app's own roles need no CREATEROLE and reach nothing of
 * their own: the tenants' group role, large objects kept from the tenants (row-level security
 * does not cover them), and two functions owned by a role the app cannot become that create and
 * drop only members of the group, for the roles that call them (the 'schema' strategy's per-tenant
 * roles). Names are lower-case PostgreSQL names; the caller creates the login roles themselves.
 *
 * @example
 * for (const statement of postgresSetupSql({ group: 'app_tenant', admin: 'app_roles', callers: ['app'] }))
 *   await superuser.query(statement)
 */
export function postgresSetupSql(options: { group: string; admin: string; callers: readonly string[] }): string[] {
  const { group, admin, callers } = options
  for (const name of [group, admin, ...callers])
    if (typeof name !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(name))
      throw new TypeError('tenantry: postgresSetupSql takes lower-case PostgreSQL role names')
  return [REVOKE_LARGE_OBJECTS, ...roleFunctionsSql(group, admin, callers)]
}

/** Every server-side large-object function, revoked from PUBLIC (the docs' statement, in a loop). */
const REVOKE_LARGE_OBJECTS = `do $$ declare f regprocedure; begin
  for f in select p.oid from pg_proc p where p.pronamespace = 'pg_catalog'::regnamespace
             and (p.proname like 'lo\\_%' or p.proname in ('loread', 'lowrite'))
  loop execute format('revoke execute on function %s from public', f); end loop; end $$`

/**
 * What a DBA runs once per database (docs/stores.md, "The roles"), so the app's roles need no
 * CREATEROLE: the tenants' group role, and functions owned by a role the app cannot become that
 * create and drop only members of that group, named `<group>_...`, for the role that calls them.
 */
function roleFunctionsSql(group: string, admin: string, callers: readonly string[]): string[] {
  const guard = (name: string) =>
    `if ${name} !~ '^${group}_[a-z0-9_]+$' or octet_length(${name}) > 63 then
       raise exception 'tenantry_roles: % is not a role of ${group}', ${name} using errcode = '42501';
     end if;`
  return [
    `create role ${group} nologin`,
    `create role ${admin} nologin createrole`,
    `grant ${group} to ${admin} with admin option`,
    `create schema tenantry_roles authorization ${admin}`,
    `create function tenantry_roles.create_tenant_role(name text) returns void language plpgsql
       security definer set search_path = pg_catalog, pg_temp as $$
     begin
       ${guard('name')}
       execute format('create role %I nologin in role %I', name, '${group}');
       execute format('grant %I to %I', name, session_user);
     end $$`,
    `create function tenantry_roles.drop_tenant_role(name text) returns void language plpgsql
       security definer set search_path = pg_catalog, pg_temp as $$
     begin
       ${guard('name')}
       if not exists (select 1 from pg_auth_members m join pg_roles g on g.oid = m.roleid
                      join pg_roles r on r.oid = m.member where g.rolname = '${group}' and r.rolname = name) then
         raise exception 'tenantry_roles: % is not a member of ${group}', name using errcode = '42501';
       end if;
       execute format('drop role %I', name);
     end $$`,
    `alter function tenantry_roles.create_tenant_role(text) owner to ${admin}`,
    `alter function tenantry_roles.drop_tenant_role(text) owner to ${admin}`,
    'revoke all on function tenantry_roles.create_tenant_role(text), tenantry_roles.drop_tenant_role(text) from public',
    ...callers.flatMap((caller) => [
      `grant usage on schema tenantry_roles to ${caller}`,
      `grant execute on function tenantry_roles.create_tenant_role(text), tenantry_roles.drop_tenant_role(text) to ${caller}`,
      `grant ${group} to ${caller}`,
    ]),
  ]
}
