import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'
import { postgresSetupSql } from 'tenantry/postgres'

/** The local server (trust auth, user postgres), or POSTGRES_URL. */
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

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
 * Its roles follow the documented set-up: the pool connects as a role of the file's own that
 * owns the database, is neither superuser nor BYPASSRLS and has no CREATEROLE (row-level
 * security applies to it as to an app's); tenant roles come from the DBA's functions, members of
 * `tenantRole`. `login` is the locked-down variant: a pool whose role owns nothing and may only
 * become `ownerRole` (which owns a schema per store) and the tenants' roles.
 * Never skips: PostgreSQL runs wherever these tests do.
 */
export function usePostgresDatabase() {
  const state: {
    pool?: pg.Pool
    pipelined?: pg.Pool
    login?: pg.Pool
    database?: string
    owner?: string
    roles: string[]
    schemas: string[]
  } = {
    roles: [],
    schemas: [],
  }
  const name = (suffix: string) => `${state.database}_${suffix}`
  beforeAll(async () => {
    state.database = unique('tenantry_test')
    state.owner = unique('tenantry_app')
    await asSuperuser([
      `create role ${state.owner} login nosuperuser nobypassrls`,
      `create role ${name('login')} login nosuperuser nobypassrls noinherit`,
      `create role ${name('owner')} nologin`,
      `grant ${name('owner')} to ${name('login')}`,
      `create database ${state.database} owner ${state.owner}`,
      `grant create on database ${state.database} to ${name('owner')}`,
    ])
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${state.database}`
    const admin = new pg.Client({ connectionString: url.toString() })
    await admin.connect()
    try {
      await admin.query(`grant create on schema public to ${name('owner')}`)
      // What a DBA runs once per database (docs/stores.md, "The roles").
      const callers = [state.owner, name('login'), name('owner')]
      for (const statement of postgresSetupSql({ group: name('tenant'), admin: name('roles'), callers }))
        await admin.query(statement)
    } finally {
      await admin.end()
    }
    url.username = state.owner
    state.pool = new pg.Pool({ connectionString: url.toString(), max: 10 })
    state.pipelined = new pg.Pool({ connectionString: url.toString(), max: 4, pipeline: true })
    url.username = name('login')
    state.login = new pg.Pool({ connectionString: url.toString(), max: 4 })
  })
  afterAll(async () => {
    // pool.end() resolves before its connections have closed; dropping the database then ends
    // them from the server's side, which the pools would report as errors.
    for (const pool of [state.pool, state.pipelined, state.login]) {
      pool?.on('error', () => {})
      await pool?.end()
    }
    if (!state.database) return
    // Roles are the cluster's, not the database's: the tenants' ones are the group's members.
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    const { rows } = await admin.query<{ rolname: string }>(
      `select r.rolname from pg_auth_members m join pg_roles r on r.oid = m.member join pg_roles g on g.oid = m.roleid
       where g.rolname = $1 and r.rolname like $2`,
      [name('tenant'), `${name('tenant')}\\_%`],
    )
    await admin.end()
    await asSuperuser([
      `drop database if exists ${state.database} with (force)`,
      ...[...state.roles, ...rows.map((row) => row.rolname)].map((role) => `drop role if exists ${role}`),
      ...['tenant', 'roles', 'login', 'owner'].map((suffix) => `drop role if exists ${name(suffix)}`),
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
    /** Runs `statements` as a superuser in this database (rows no role of the app could write). */
    async asSuperuser(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
      if (!state.database) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      const url = new URL(POSTGRES_URL)
      url.pathname = `/${state.database}`
      const admin = new pg.Client({ connectionString: url.toString() })
      await admin.connect()
      try {
        return await admin.query(text, values)
      } finally {
        await admin.end()
      }
    },
    /** The tenants' group role (`<database>_tenant`, the stores' default `tenantRole`). */
    get tenantRole(): string {
      return name('tenant')
    },
    /** A pool whose role owns nothing and may only become `ownerRole` and the tenants' roles. */
    get loginPool(): pg.Pool {
      if (!state.login) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      return state.login
    },
    /** The role `loginPool`'s stores name as `ownerRole`. */
    get ownerRole(): string {
      return name('owner')
    },
    /**
     * The role a test's 'rls' store names as `tenantRole`: the tenants' group the DBA made, as in
     * the documented set-up (the app's role cannot create roles).
     */
    role: () => name('tenant'),
    /** A new role name of this file's own (for the test to create), dropped after its tests. */
    uniqueRole: () => {
      const role = `${name('tenant')}_${randomBytes(4).toString('hex')}`
      state.roles.push(role)
      return role
    },
  }
}
