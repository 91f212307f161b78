import type { Tenant } from '../tenant.js'

/** A column a tenant can write (stored generated columns left out), and the sequence it draws from, if any. */
export interface SqlColumn {
  name: string
  /** `'a'` for `generated always as identity`, which takes a value only with `overriding system value`. */
  identity: string
  sequence: string | null
}

/** A unique or exclusion key (its key columns; expressions left out), or a foreign key (its referencing columns). */
interface SqlKey {
  name: string
  columns: string[]
  /** A plain unique key: one `ON CONFLICT (columns) DO UPDATE` can name. */
  target: boolean
}

export interface SqlTableShape {
  columns: SqlColumn[]
  keys: SqlKey[]
  foreignKeys: SqlKey[]
}

const COLUMNS = `select a.attname as name, a.attidentity::text as identity,
         coalesce(pg_get_serial_sequence(a.attrelid::regclass::text, a.attname),
                  (select dep.refobjid::regclass::text from pg_depend dep join pg_class s on s.oid = dep.refobjid and s.relkind = 'S'
                   where dep.classid = 'pg_attrdef'::regclass and dep.objid = d.oid limit 1)) as sequence
  from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
  where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' and a.attname <> 'tenant_id'
  order by a.attnum`

const KEYS = `select coalesce(c.conname, i.indexrelid::regclass::text) as name,
         array(select a.attname from unnest(i.indkey::int2[]) with ordinality as k(attnum, n)
               join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
               where k.n <= i.indnkeyatts order by k.n)::text[] as columns,
         i.indisunique and i.indpred is null and i.indexprs is null as target
  from pg_index i left join pg_constraint c on c.conindid = i.indexrelid and c.contype in ('p', 'u', 'x')
  where i.indrelid = to_regclass($1) and (i.indisunique or i.indisexclusion)
  order by 1`

const FOREIGN_KEYS = `select c.conname as name, false as target,
         array(select a.attname from unnest(c.conkey) as k(attnum)
               join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum)::text[] as columns
  from pg_constraint c where c.conrelid = to_regclass($1) and c.contype = 'f'
  order by 1`

/**
 * What the probe aims at on `table`, read from the catalogs as `tenant` sees them (its own
 * `search_path` on `'schema'`): no privilege beyond a tenant's is needed.
 */
export async function readTableShape(tenant: Tenant, table: string): Promise<SqlTableShape> {
  const { rows: found } = await tenant.query<{ oid: string | null }>('select to_regclass($1)::oid::text as oid', [
    table,
  ])
  if (!found[0]?.oid) throw new Error(`sql isolation probe: no table ${table} where the tenant looks`)
  const columns = (await tenant.query<SqlColumn>(COLUMNS, [table])).rows
  const keys = (await tenant.query<SqlKey>(KEYS, [table])).rows
  const foreignKeys = (await tenant.query<SqlKey>(FOREIGN_KEYS, [table])).rows
  return { columns, keys, foreignKeys }
}
