import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import { failingStore } from 'tenantry/testing'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()
const NOTES = 'create table notes (id integer primary key, body text not null)'

/**
 * The pool, except that the connection of the next `commit` armed is cut just before it is
 * sent, or just after, before its answer can come back: the one moment a create's outcome is
 * unknown to the app.
 */
function cuttingCommits(pool: pg.Pool) {
  const armed: ('after sending' | 'before sending')[] = []
  const cut = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'connect') return Reflect.get(target, key, receiver)
      // pg-pool's own query() calls connect with a callback; the store calls it for a promise.
      const connect = async () => {
        const client = await target.connect()
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>
        return new Proxy(client, {
          get(inner, name, innerReceiver) {
            if (name !== 'query') return Reflect.get(inner, name, innerReceiver)
            return (...args: unknown[]) => {
              const when = args[0] === 'commit' ? armed.shift() : undefined
              if (!when) return query(...args)
              const { stream } = (inner as unknown as { connection: { stream: { destroy(): void } } }).connection
              if (when === 'before sending') stream.destroy()
              const answer = query(...args)
              if (when === 'after sending') stream.destroy()
              return answer
            }
          },
        })
      }
      return (callback?: (err: Error | undefined, client?: pg.PoolClient, release?: () => void) => void) => {
        const connected = connect()
        if (!callback) return connected
        connected.then((client) => callback(undefined, client, client.release), callback)
        return undefined
      }
    },
  })
  return { pool: cut, cutNextCommit: (when: 'after sending' | 'before sending') => armed.push(when) }
}

async function setUp(pool: pg.Pool = database.pool) {
  const schema = database.fresh()
  const failing = failingStore(postgresStore({ pool, schema, strategy: 'schema', migrations: [NOTES] }))
  const tenancy = createTenancy({ auth: TEST_AUTH, store: failing.store })
  await tenancy.migrate()
  const count = async (sql: string, values: unknown[]) =>
    (await database.pool.query<{ n: number }>(sql, values)).rows[0]!.n
  const tenantSchemas = () =>
    count('select count(*)::int as n from pg_namespace where nspname like $1', [`${schema}\\_%`])
  // Tenants' roles are named after the database's group of them (a baseline counts this create's).
  const tenantRoles = () =>
    count('select count(*)::int as n from pg_roles where rolname like $1', [`${database.tenantRole}\\_%`])
  /** What a create made of everything it makes: organization, account, membership, schema, role. */
  const traces = async (name: string, email: string, before: { schemas: number; roles: number }) => ({
    organizations: await count(`select count(*)::int as n from ${schema}.organizations where name = $1`, [name]),
    accounts: await count(`select count(*)::int as n from ${schema}.accounts where email = $1`, [email]),
    memberships: await count(
      `select count(*)::int as n from ${schema}.memberships m join ${schema}.organizations o on o.id = m.organization_id where o.name = $1`,
      [name],
    ),
    schemas: (await tenantSchemas()) - before.schemas,
    roles: (await tenantRoles()) - before.roles,
  })
  const baseline = async () => ({ schemas: await tenantSchemas(), roles: await tenantRoles() })
  return { tenancy, failing, traces, baseline }
}

const WHOLE = { organizations: 1, accounts: 1, memberships: 1, schemas: 1, roles: 1 }
const ABSENT = { organizations: 0, accounts: 0, memberships: 0, schemas: 0, roles: 0 }

describe('an organization create on PostgreSQL', () => {
  it('commits its records, owner and schema as one: a failure at the last step leaves no schema, role or record, even when the undo fails too', async () => {
    const { tenancy, failing, traces, baseline } = await setUp()
    const before = await baseline()
    // The activation fails, and so does the claim that would undo the create step by step.
    failing.failNext('organizations.transition', { times: 2 })
    await expect(tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD })).rejects.toThrow(
      /injected failure/,
    )
    expect(await traces('Doomed', 'doomed@x.test', before)).toEqual(ABSENT)
    await tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD })
    expect(await traces('Doomed', 'doomed@x.test', before)).toEqual(WHOLE)
  })

  it('settles a create whose connection was lost at COMMIT: whole and answered if the server committed, absent and refused if not', async () => {
    const cutting = cuttingCommits(database.pool)
    const { tenancy, traces, baseline } = await setUp(cutting.pool)
    // tenancy.migrate() made tenantry's tables; a first create, uncut, warms the pool.
    await tenancy.orgs.create({ name: 'Warm', email: 'warm@x.test', password: PASSWORD })
    const outcomes: string[] = []
    for (let i = 0; i < 6; i++) {
      const [name, email] = [`Cut ${i}`, `cut${i}@x.test`]
      const before = await baseline()
      cutting.cutNextCommit(i % 2 === 0 ? 'after sending' : 'before sending')
      const answered = await tenancy.orgs.create({ name, email, password: PASSWORD }).then(
        () => 'created',
        () => 'refused',
      )
      const left = await traces(name, email, before)
      // The store asks the server what became of the COMMIT before anyone decides on the create.
      expect(left).toEqual(answered === 'created' ? WHOLE : ABSENT)
      outcomes.push(left.organizations === 1 ? 'committed' : 'rolled back')
      if (left.organizations === 1) {
        // Committed: served as any other organization, its owner able to sign in and write.
        const { accessToken } = await tenancy.auth.login({ email, password: PASSWORD })
        const tenant = await tenancy.authenticate(accessToken)
        await tenant.query(`insert into notes (id, body) values (1, 'kept')`)
        expect((await tenant.query('select body from notes')).rows).toEqual([{ body: 'kept' }])
      } else {
        await tenancy.orgs.create({ name, email, password: PASSWORD })
        expect(await traces(name, email, before)).toEqual(WHOLE)
      }
    }
    // Never sent, it rolled back; sent, the server may have committed before it saw the connection go.
    expect(outcomes.filter((_, i) => i % 2 === 1)).toEqual(['rolled back', 'rolled back', 'rolled back'])
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0, orphanDataSpacesDropped: 0 })
  })
})
