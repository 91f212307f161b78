import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

/** The local server (trust auth, user postgres), or POSTGRES_URL. */
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Every server-side large-object function, revoked from PUBLIC (the docs' statement, in a loop). */
const REVOKE_LARGE_OBJECTS = `do $$ declare f regprocedure; begin
  for f in select p.oid from pg_proc p where p.pronamespace = 'pg_catalog'::regnamespace
             and (p.proname like 'lo\\_%' or p.proname in ('loread', 'lowrite'))
  loop execute format('revoke execute on function %s from public', f); end loop; end $$`

const unique = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`

async function asSuperuser(statements: string[], database?: string): Promise<void> {
  const url = new URL(POSTGRES_URL)
  if (database) url.pathname = `/${database}`
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  try {
    for (const statement of statements) await admin.query(statement)
  } finally {
    await admin.end()
  }
}

/**
 * A database of this test file's own on the real server, created before its tests and dropped
 * after them; `fresh()` names a new schema in it, so every store a test makes starts empty.
 * The pool connects as a role of the file's own that owns the database and may create roles,
 * and is neither superuser nor BYPASSRLS: row-level security applies to it as to an app's.
 * `role()` names a role to be dropped after. Never skips: PostgreSQL runs wherever these tests do.
 */
export function usePostgresDatabase() {
  const state: {
    pool?: pg.Pool
    pipelined?: pg.Pool
    database?: string
    owner?: string
    roles: string[]
    schemas: string[]
  } = {
    roles: [],
    schemas: [],
  }
  beforeAll(async () => {
    state.database = unique('tenantry_test')
    state.owner = unique('tenantry_app')
    await asSuperuser([
      `create role ${state.owner} login createrole nosuperuser nobypassrls`,
      `create database ${state.database} owner ${state.owner}`,
    ])
    // What a DBA runs once per database for 'rls' (docs/stores.md): large objects are outside row-level security.
    await asSuperuser([REVOKE_LARGE_OBJECTS], state.database)
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${state.database}`
    url.username = state.owner
    state.pool = new pg.Pool({ connectionString: url.toString(), max: 10 })
    state.pipelined = new pg.Pool({ connectionString: url.toString(), max: 4, pipeline: true })
  })
  afterAll(async () => {
    // pool.end() resolves before its connections have closed; dropping the database then ends
    // them from the server's side, which the pools would report as errors.
    for (const pool of [state.pool, state.pipelined]) {
      pool?.on('error', () => {})
      await pool?.end()
    }
    if (!state.database) return
    // Roles are the cluster's, not the database's: the per-tenant ones ('schema' strategy) are
    // named after the schema a test made, and go by that name once the database is gone.
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    const { rows } = await admin.query<{ rolname: string }>('select rolname from pg_roles where rolname like any($1)', [
      state.schemas.map((schema) => `${schema}\\_%`),
    ])
    await admin.end()
    await asSuperuser([
      `drop database if exists ${state.database} with (force)`,
      ...[...state.roles, ...rows.map((row) => row.rolname)].map((role) => `drop role if exists ${role}`),
      `drop role if exists ${state.owner}`,
    ])
  })
  return {
    /** The database's URL, as its owner role: what an app under test is given as DATABASE_URL. */
    get url(): string {
      if (!state.database || !state.owner) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      const url = new URL(POSTGRES_URL)
      url.pathname = `/${state.database}`
      url.username = state.owner
      return url.toString()
    },
    get pool(): pg.Pool {
      if (!state.pool) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      return state.pool
    },
    /** A pool on the same database whose connections pipeline their queries (`pipeline: true`). */
    get pipelinedPool(): pg.Pool {
      if (!state.pipelined) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      return state.pipelined
    },
    fresh: () => {
      const schema = unique('s')
      state.schemas.push(schema)
      return schema
    },
    role: () => {
      const role = unique('tenantry_tenant')
      state.roles.push(role)
      return role
    },
  }
}
