import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { postgresStore, type PostgresStoreOptions } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

const NOTES =
  'create table notes (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))'

const SCHEMA_NOTES = 'create table notes (id integer primary key, body text not null)'

type Options = Omit<PostgresStoreOptions, 'pool' | 'schema'>

function setUp(pool: pg.Pool, options: Options) {
  const schema = database.fresh()
  const tenancy = createTenancy({ auth: TEST_AUTH, store: postgresStore({ pool, schema, ...options }) })
  let migrated: Promise<unknown> | undefined
  const tenant = async (name: string) => {
    await (migrated ??= tenancy.migrate()) // as at deploy, once
    await tenancy.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
    return tenancy.tenant({ name })
  }
  return { tenancy, tenant, schema }
}

/** The documented set-up: the pool's role owns nothing and switches to `ownerRole` for tenantry's own work. */
const documented = (options: Options) => setUp(database.loginPool, { ownerRole: database.ownerRole, ...options })

const rls = (table = `notes_${database.fresh().slice(-8)}`): Options => ({
  strategy: 'rls',
  migrations: [NOTES.replace('notes', table)],
  tables: [table],
})

/** A login role of this test's own, made by the superuser with `attributes`, and a pool on it. */
async function loginRole(attributes: string, ...grants: string[]) {
  const role = database.uniqueRole()
  await database.asSuperuser(`create role ${role} login ${attributes}`)
  for (const grant of grants) await database.asSuperuser(`grant ${grant} to ${role}`)
  const url = new URL(database.url)
  url.username = role
  return { role, pool: new pg.Pool({ connectionString: url.toString(), max: 2 }) }
}

const serverVersion = async () =>
  Number((await database.pool.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v)

describe('a pool whose login role owns nothing (the documented set-up)', () => {
  it('serves organizations, sign-in and tenants’ rows on both strategies, its own role switching for each', async () => {
    for (const options of [rls(), { strategy: 'schema', migrations: [SCHEMA_NOTES] } as Options]) {
      const { tenancy, tenant } = documented(options)
      const acme = await tenant('Acme')
      const table = options.strategy === 'rls' ? options.tables![0]! : 'notes'
      await acme.query(`insert into ${table} (id, body) values (1, 'acme')`)
      expect((await acme.query(`select body from ${table}`)).rows).toEqual([{ body: 'acme' }])
      await expect(tenancy.auth.login({ email: 'acme@x.test', password: PASSWORD })).resolves.toHaveProperty(
        'accessToken',
      )
    }
  })

  it('reads nothing of tenantry’s records as itself, and its switch to the owner ends with each statement', async () => {
    const { tenant, schema } = documented(rls())
    await tenant('Acme')
    await expect(database.loginPool.query(`select * from ${schema}.accounts`)).rejects.toMatchObject({ code: '42501' })
    // Every pooled connection, after tenantry's statements ran on it, is back to the login role.
    const who = await Promise.all(
      Array.from({ length: 8 }, () => database.loginPool.query('select current_user = session_user as own')),
    )
    expect(who.map((answer) => answer.rows[0])).toEqual(Array.from({ length: 8 }, () => ({ own: true })))
  })

  it.each(['transaction', 'DO block'])(
    'leaves host code that resets the role with nothing to read, through a %s: no password hash of tenantry’s',
    async (form) => {
      const { tenant, schema } = documented(rls())
      const acme = await tenant('Acme')
      const read = `select password_hash from ${schema}.accounts`
      const attempt =
        form === 'transaction'
          ? acme.transaction(async (client) => {
              await client.query('reset role')
              return (await client.query(read)).rows
            })
          : acme.query(`do $$ begin reset role; perform (${read} limit 1); end $$`)
      await expect(attempt).rejects.toMatchObject({ code: 'INVALID_QUERY', cause: { code: '42501' } })
    },
  )

  it('shows what it prevents: with the pool’s role owning the records, a RESET ROLE reads every password hash', async () => {
    const { tenant, schema } = setUp(database.pool, rls())
    const acme = await tenant('Acme')
    const hashes = await acme.transaction(async (client) => {
      await client.query('reset role')
      return (await client.query(`select password_hash from ${schema}.accounts`)).rows
    })
    expect(hashes).toHaveLength(1)
  })

  it('refuses, at construction, a second store over the same pool that names another ownerRole', () => {
    documented(rls())
    expect(() => setUp(database.loginPool, rls())).toThrow(TypeError)
  })
})

describe('the login role tenantry starts with', () => {
  it('is refused when it, or a role it can become, could read or run what no tenant may', async () => {
    await database.asSuperuser(`grant pg_execute_server_program to ${database.ownerRole}`)
    const cases = [
      await loginRole('bypassrls'),
      await loginRole('', 'pg_read_all_data'),
      // Not the login role itself: a role it may become.
      await loginRole('noinherit', database.ownerRole),
    ]
    try {
      for (const { pool, role } of cases)
        await expect(setUp(pool, rls()).tenancy.migrate(), role).rejects.toThrow(/step outside the database's checks/)
    } finally {
      await database.asSuperuser(`revoke pg_execute_server_program from ${database.ownerRole}`)
      for (const { pool } of cases) await pool.end()
    }
  })

  it('is refused with CREATEROLE on PostgreSQL 15 and older, where CREATEROLE grants itself a shell on the server', async () => {
    const { pool } = await loginRole('createrole')
    try {
      if ((await serverVersion()) < 160000) {
        // Why: the role may make itself a member of pg_execute_server_program (COPY ... TO PROGRAM).
        await pool.query('grant pg_execute_server_program to current_user')
        await pool.query('revoke pg_execute_server_program from current_user')
        await expect(setUp(pool, rls()).tenancy.migrate()).rejects.toThrow(/CREATEROLE/)
      } else
        await expect(pool.query('grant pg_execute_server_program to current_user')).rejects.toMatchObject({
          code: '42501',
        })
    } finally {
      await pool.end()
    }
  })
})

describe('the host’s own tables inside a tenant transaction', () => {
  it.each(['rls', 'schema'] as const)(
    "lets '%s' tenants join their rows with the host’s users, read-only unless declared otherwise",
    async (strategy) => {
      const app = database.fresh()
      await database.pool.query(`create schema ${app}`)
      await database.pool.query(`create table ${app}.users (id integer primary key, name text not null)`)
      await database.pool.query(`insert into ${app}.users (id, name) values (1, 'Ada')`)
      const notes = strategy === 'rls' ? `notes_${app.slice(-8)}` : 'notes'
      // On 'schema' the tenant's search_path reaches the shared schema after its own.
      const users = strategy === 'rls' ? `${app}.users` : 'users'
      const store = (shared?: Options['shared']): Options => ({
        strategy,
        migrations: [
          strategy === 'rls'
            ? `create table if not exists ${notes} (tenant_id text not null, id integer not null, author_id integer not null, body text not null, primary key (tenant_id, id))`
            : 'create table notes (id integer primary key, author_id integer not null, body text not null)',
        ],
        ...(strategy === 'rls' ? { tables: [notes] } : {}),
        ...(shared ? { shared } : {}),
      })
      const join = `select n.body, u.name from ${notes} n join ${users} u on u.id = n.author_id`

      const unshared = await setUp(database.pool, store()).tenant('Hidden')
      await expect(unshared.query(join)).rejects.toMatchObject({
        code: 'INVALID_QUERY',
        cause: { code: strategy === 'rls' ? '42501' : '42P01' },
      })

      const acme = await setUp(database.pool, store({ tables: [`${app}.users`] })).tenant('Acme')
      await acme.query(`insert into ${notes} (id, author_id, body) values (1, 1, 'hello')`)
      expect((await acme.query(join)).rows).toEqual([{ body: 'hello', name: 'Ada' }])
      await expect(acme.query(`insert into ${users} (id, name) values (2, 'Eve')`)).rejects.toMatchObject({
        code: 'INVALID_QUERY',
        cause: { code: '42501' },
      })

      const writer = await setUp(database.pool, store({ tables: [`${app}.users`], privileges: 'write' })).tenant(
        'Globex',
      )
      await writer.query(`insert into ${users} (id, name) values (2, 'Bob')`)
      expect((await database.pool.query(`select name from ${app}.users order by id`)).rows).toEqual([
        { name: 'Ada' },
        { name: 'Bob' },
      ])
    },
  )

  it('refuses, at construction, a table declared both a tenant table and shared', () => {
    expect(() => setUp(database.pool, { ...rls('both'), shared: { tables: ['both'] } })).toThrow(TypeError)
  })
})
