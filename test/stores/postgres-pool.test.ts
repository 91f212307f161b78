import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { errors } from 'tenantry'
import { type PostgresStoreOptions, postgresRecords, postgresStore } from 'tenantry/postgres'
import { PASSWORD } from '../support/secret.js'
import { notesTenancy } from '../support/notes-tenancy.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()
const STRATEGIES = ['rls', 'schema'] as const
type Strategy = (typeof STRATEGIES)[number]

const pools: pg.Pool[] = []
afterEach(async () => {
  for (const pool of pools.splice(0)) {
    pool.on('error', () => {})
    await pool.end()
  }
})

/** A pool of the test's own, on the file's database, ended after the test. */
function poolOf(options: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool({ connectionString: database.url, ...options })
  pools.push(pool)
  return pool
}

const setUp = (pool: pg.Pool, strategy: Strategy, options: Partial<PostgresStoreOptions> = {}) =>
  notesTenancy(database, pool, strategy, options)

/** Whether every connection `pool` made is back in it, none lent out and no one waiting. */
const settled = (pool: pg.Pool) => ({ lent: pool.totalCount - pool.idleCount, waiting: pool.waitingCount })

describe.each(STRATEGIES)("a PostgreSQL store's connections ('%s')", (strategy) => {
  it('runs every flow on a pool of one connection: create, link, login, invite, accept, a tenant transaction and query, delete and recover', async () => {
    const pool = poolOf({ max: 1 })
    const { tenancy, notes } = await setUp(pool, strategy)
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    await tenancy.accounts.link({ subject: 'user-ada', email: 'ada@globex.test' })
    await tenancy.orgs.create({ name: 'Globex', owner: { subject: 'user-ada', email: 'ada@globex.test' } })
    const { accessToken } = await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(accessToken)
    const { token } = await tenancy.invitations.invite(owner, { email: 'bob@acme.test', role: 'member' })
    await tenancy.invitations.accept({ token, password: PASSWORD })
    const { token: hostToken } = await tenancy.invitations.invite(owner, { email: 'eve@acme.test', role: 'member' })
    await tenancy.invitations.accept({ token: hostToken, subject: 'user-eve', email: 'eve@acme.test' })
    await owner.transaction(async (client) => {
      await client.query(`insert into ${notes} (id, body) values (1, 'plans')`)
    })
    expect((await owner.query(`select body from ${notes}`)).rows).toEqual([{ body: 'plans' }])
    await tenancy.orgs.delete(owner, 'Acme')
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0 })
    expect(await tenancy.orgs.get('Acme')).toBeNull()
    expect(settled(pool)).toEqual({ lent: 0, waiting: 0 })
  })

  it.each([1, 2, 8])(
    'finishes 3 × max concurrent creates on a pool of %i, by password and by host user',
    async (max) => {
      const pool = poolOf({ max })
      const { tenancy } = await setUp(pool, strategy)
      const creates = Array.from({ length: 3 * max }, (_, i) =>
        i % 2 === 0
          ? tenancy.orgs.create({ name: `Org ${i}`, email: `owner${i}@x.test`, password: PASSWORD })
          : tenancy.orgs.create({ name: `Org ${i}`, owner: { subject: `user-${i}`, email: `owner${i}@x.test` } }),
      )
      const created = await Promise.all(creates)
      expect(created.map((c) => c.organization.name)).toEqual(creates.map((_, i) => `Org ${i}`))
      expect(settled(pool)).toEqual({ lent: 0, waiting: 0 })
    },
  )
})

describe('waiting for a pooled connection', () => {
  it('answers DatabaseUnavailableError (503, retryable) after acquireTimeoutMs, for a record query, a create and a tenant call, and leaks no connection that comes late', async () => {
    const pool = poolOf({ max: 1 })
    const { tenancy } = await setUp(pool, 'rls', { acquireTimeoutMs: 150 })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    const acme = await tenancy.tenant({ name: 'Acme' })
    // The host's own work holds the pool's only connection.
    const held = await pool.connect()
    const calls = {
      login: () => tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD }),
      create: () => tenancy.orgs.create({ name: 'Globex', email: 'owner@globex.test', password: PASSWORD }),
      query: () => acme.query('select 1'),
      transaction: () => acme.transaction(async (client) => client.query('select 1')),
    }
    for (const [name, call] of Object.entries(calls)) {
      const started = Date.now()
      const err = await call().then(
        () => new Error(`${name} got a connection`),
        (failed: unknown) => failed,
      )
      expect(err, name).toBeInstanceOf(errors.DatabaseUnavailableError)
      expect(err, name).toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryable: true })
      expect(Date.now() - started, name).toBeLessThan(1_000)
    }
    held.release()
    // The waits that timed out are still in pg's queue; each connection handed to one goes straight back.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(settled(pool)).toEqual({ lent: 0, waiting: 0 })
    expect(pool.totalCount).toBe(1)
    await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })
    expect((await acme.query<{ n: number }>('select 1 as n')).rows).toEqual([{ n: 1 }])
  })

  it("leaves the wait to pg-pool's own connectionTimeoutMillis when it is the shorter: its waiter leaves the queue", async () => {
    const pool = poolOf({ max: 1, connectionTimeoutMillis: 100 })
    const records = postgresRecords({ pool, schema: database.fresh(), acquireTimeoutMs: 5_000 })
    await records.migrate()
    const held = await pool.connect()
    const started = Date.now()
    await expect(records.accounts.find({ id: 'nobody' })).rejects.toBeInstanceOf(errors.DatabaseUnavailableError)
    expect(Date.now() - started).toBeLessThan(1_000)
    // Our own timer would leave its waiter queued until a connection came; pg-pool's takes it out.
    expect(pool.waitingCount).toBe(0)
    held.release()
    expect(await records.accounts.find({ id: 'nobody' })).toBeNull()
  })

  it('settles a create whose COMMIT lost its answer on a pool of one: the lost connection goes before the server is asked', async () => {
    const pool = poolOf({ max: 1 })
    const cutting = cuttingNextCommit(pool)
    const { tenancy } = await setUp(cutting.pool, 'schema')
    await tenancy.orgs.create({ name: 'Warm', email: 'warm@x.test', password: PASSWORD })
    cutting.arm()
    const outcome = await tenancy.orgs.create({ name: 'Cut', email: 'cut@x.test', password: PASSWORD }).then(
      () => 'created',
      (err: unknown) => err,
    )
    expect(cutting.cut()).toBe(true)
    // Answered as the server settled it: created and whole, or refused and absent.
    if (outcome === 'created') expect(await tenancy.orgs.get('Cut')).toMatchObject({ name: 'Cut' })
    else expect(await tenancy.orgs.get('Cut')).toBeNull()
    expect(settled(pool)).toEqual({ lent: 0, waiting: 0 })
  })
})

/** `pool`, except that once armed, the connection that sends the next `commit` is cut right after sending it. */
function cuttingNextCommit(pool: pg.Pool) {
  let armed = false
  let cut = false
  const cutting = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'connect') return Reflect.get(target, key, receiver)
      return async () => {
        const client = await target.connect()
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>
        return new Proxy(client, {
          get(inner, name, innerReceiver) {
            if (name !== 'query') return Reflect.get(inner, name, innerReceiver)
            return (...args: unknown[]) => {
              if (!armed || args[0] !== 'commit') return query(...args)
              armed = false
              const answer = query(...args)
              ;(inner as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()
              cut = true
              return answer
            }
          },
        })
      }
    },
  })
  return { pool: cutting, arm: () => (armed = true), cut: () => cut }
}

describe('the pool options', () => {
  it.each([
    ['acquireTimeoutMs', 0],
    ['acquireTimeoutMs', 1.5],
    ['acquireTimeoutMs', '100'],
    ['maxConnectionsPerOrganization', 0],
    ['reservedConnections', -1],
    ['reservedConnections', 10],
    ['statementTimeoutMs', -1],
    ['idleInTransactionTimeoutMs', 2 ** 31],
  ])('refuses %s: %j at construction, with a TypeError', (name, value) => {
    const pool = poolOf({ max: 10 })
    expect(() => postgresStore({ pool, strategy: 'schema', [name]: value } as PostgresStoreOptions)).toThrow(TypeError)
  })

  it('refuses acquireTimeoutMs that is not whole milliseconds on postgresRecords too', () => {
    const pool = poolOf({ max: 1 })
    expect(() => postgresRecords({ pool, acquireTimeoutMs: -5 })).toThrow(TypeError)
  })
})
