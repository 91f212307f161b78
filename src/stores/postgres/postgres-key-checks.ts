import type { PoolClient } from 'pg'

/**
 * Row-level security hides rows from queries, not from the engine's own checks: a unique or
 * exclusion constraint, a foreign key and a sequence all consult every tenant's rows. Each query
 * here lists what on one table would let a tenant learn about another's, with the fix.
 */
const FINDINGS: readonly { sql: string; say: (row: Finding) => string }[] = [
  {
    // Key columns only (`indnkeyatts`): a column in INCLUDE is carried, not compared.
    sql: `select coalesce(c.conname, i.indexrelid::regclass::text) as name, pg_get_indexdef(i.indexrelid) as definition
          from pg_index i left join pg_constraint c on c.conindid = i.indexrelid and c.contype in ('p', 'u')
          where i.indrelid = $1 and i.indisunique
            and not exists (select 1 from pg_attribute a where a.attrelid = i.indrelid and a.attname = 'tenant_id'
                            and a.attnum = any((i.indkey::int2[])[0:i.indnkeyatts - 1]))`,
    say: (row) =>
      `unique key ${row.name} must include tenant_id as a key column, not only in INCLUDE (make it unique (tenant_id, ...)): a key unique across tenants answers "taken" for another tenant's value [${row.definition}]`,
  },
  {
    sql: `select c.conname as name, pg_get_constraintdef(c.oid) as definition from pg_constraint c
          where c.conrelid = $1 and c.contype = 'x'
            and not exists (select 1 from unnest(c.conkey, c.conexclop) as k(attnum, op)
                            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum and a.attname = 'tenant_id'
                            join pg_operator o on o.oid = k.op and o.oprname = '=')`,
    say: (row) =>
      `exclusion constraint ${row.name} must include tenant_id WITH = (on gist, with the btree_gist extension): one spanning tenants conflicts with another tenant's rows [${row.definition}]`,
  },
  {
    // Both directions: a key of this table referenced from elsewhere is checked as much as one it references.
    sql: `select c.conname as name, c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid) as definition
          from pg_constraint c
          where c.contype = 'f' and $1 in (c.conrelid, c.confrelid)
            and not exists (select 1 from unnest(c.conkey, c.confkey) as k(mine, theirs)
                            join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.mine and a.attname = 'tenant_id'
                            join pg_attribute b on b.attrelid = c.confrelid and b.attnum = k.theirs and b.attname = 'tenant_id')`,
    say: (row) =>
      `foreign key ${row.name} must pair tenant_id with tenant_id (foreign key (tenant_id, x) references t (tenant_id, id)): the engine checks foreign keys without row-level security, so one to another tenant's key succeeds where a missing one fails [${row.definition}]`,
  },
  {
    // A serial's default depends on its sequence; an identity column owns one internally.
    sql: `select a.attname as name, coalesce(pg_get_expr(d.adbin, d.adrelid), 'generated as identity') as definition
          from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where a.attrelid = $1 and a.attnum > 0 and not a.attisdropped
            and (a.attidentity <> '' or exists (
                   select 1 from pg_depend dep join pg_class s on s.oid = dep.refobjid and s.relkind = 'S'
                   where dep.classid = 'pg_attrdef'::regclass and dep.objid = d.oid and dep.refclassid = 'pg_class'::regclass))`,
    say: (row) =>
      `column ${row.name} draws from a sequence every tenant shares (identity or serial): consecutive values count other tenants' inserts; use uuid default gen_random_uuid(), or a key numbered per tenant [${row.definition}]`,
  },
]

interface Finding {
  name: string
  definition: string
}

/**
 * Refuses a tenant table with a key oracle, naming each: a unique key or index without
 * `tenant_id` as a key column, an exclusion constraint without `tenant_id WITH =`, a foreign key
 * (either way) that does not pair `tenant_id` with `tenant_id`, or a column fed by a sequence.
 *
 * @example
 * await assertNoKeyOracles(client, 'notes', oid) // throws: notes: unique key notes_code_key must include tenant_id ...
 */
export async function assertNoKeyOracles(client: PoolClient, table: string, oid: number): Promise<void> {
  const problems: string[] = []
  for (const { sql, say } of FINDINGS) {
    const { rows } = await client.query<Finding>(sql, [oid])
    problems.push(...rows.map(say))
  }
  if (problems.length > 0) throw new Error(`tenantry: table ${table}: ${problems.join('; ')}`)
}

// The server-side large-object functions in the catalog (what a client's lo_* calls run too).
const LARGE_OBJECT_FUNCTIONS = `select p.oid::regprocedure::text as signature,
       has_function_privilege($1, p.oid, 'execute') as usable
  from pg_proc p
  where p.pronamespace = 'pg_catalog'::regnamespace and (p.proname like 'lo\\_%' or p.proname in ('loread', 'lowrite'))
  order by 1`

/**
 * Large objects are outside row-level security, and every tenant of `'rls'` is one role: a tenant
 * could read and unlink another's. Their functions are PUBLIC's by default and only their owner
 * (a superuser) may revoke that, and tenantry never runs as one: this refuses, naming the
 * statement for a superuser to run once in this database.
 *
 * @example
 * await assertNoLargeObjects(client, 'tenantry_tenant')
 */
export async function assertNoLargeObjects(client: PoolClient, role: string): Promise<void> {
  const { rows } = await client.query<{ signature: string; usable: boolean }>(LARGE_OBJECT_FUNCTIONS, [role])
  const usable = rows.filter((row) => row.usable).map((row) => row.signature)
  if (usable.length === 0) return
  const revoke = `revoke execute on function ${usable.map((signature) => `pg_catalog.${signature}`).join(', ')} from public`
  throw new Error(
    `tenantry: the tenant role ${role} may use large objects, which row-level security does not cover (one tenant could read and delete another's): as a superuser, run in this database: ${revoke}; (and grant back to the roles that need them; a role granted them directly must lose them too)`,
  )
}
