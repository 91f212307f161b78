import pg from 'pg'
import { afterEach, describe, expect, it } from 'vitest'
import { errors, type Tenant } from 'tenantry'
import type { PostgresStoreOptions } from 'tenantry/postgres'
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

/** A pool of the test's own, its `max` connections opened up front so no wait below is a connect. */
async function poolOf(max: number): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: database.url, max })
  pools.push(pool)
  await Promise.all(Array.from({ length: max }, () => pool.query('select pg_sleep(0.02)')))
  return pool
}

/** A tenancy on `pool`, migrated as at deploy, with organizations `names` and a notes table. */
async function setUp(pool: pg.Pool, strategy: Strategy, names: string[], options: Partial<PostgresStoreOptions> = {}) {
  const { tenancy, notes } = await notesTenancy(database, pool, strategy, options)
  const tenants: Tenant[] = []
  for (const name of names) {
    await tenancy.orgs.create({ name, email: `owner@${name.toLowerCase()}.test`, password: PASSWORD })
    tenants.push(await tenancy.tenant({ name }))
  }
  return { tenancy, tenants, notes }
}

/**
 * `count` transactions of `tenant` that each, once in, wait for `release()` (or `holdMs`, so a
 * test that fails cannot hang): a tenant holding the pool's connections while its code awaits.
 */
function holdOpen(tenant: Tenant, count: number, holdMs: number) {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  const timer = setTimeout(release, holdMs)
  let inside = 0
  const done = Promise.allSettled(
    Array.from({ length: count }, () =>
      tenant.transaction(async (client) => {
        inside++
        await client.query('select 1')
        await released
      }),
    ),
  )
  return {
    inside: () => inside,
    finish: async () => {
      clearTimeout(timer)
      release()
      return done
    },
  }
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5))
}

const timed = async (fn: () => Promise<unknown>) => {
  const started = performance.now()
  await fn()
  return performance.now() - started
}

/**
 * Each call's mean time over `rounds` rounds, the calls of a round run together: a mean, so one
 * slow moment of a busy machine weighs a fifth, and one wait for a held connection counts whole.
 */
async function means(calls: Record<string, () => Promise<unknown>>, rounds = 5): Promise<Record<string, number>> {
  const times: Record<string, number> = {}
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Object.entries(calls).map(async ([name, call]) => (times[name] = (times[name] ?? 0) + (await timed(call)))),
    )
  }
  return Object.fromEntries(Object.entries(times).map(([name, total]) => [name, total / rounds]))
}

/** How much longer each call took under `held` than before it, in ms. */
const delays = (before: Record<string, number>, under: Record<string, number>) =>
  Object.fromEntries(Object.entries(under).map(([name, ms]) => [name, Math.round(ms - before[name]!)]))

/** The engine's SQLSTATE behind a failed call: the error itself, or the cause of tenantry's typed one. */
function sqlState(err: unknown): unknown {
  if (err instanceof errors.TenantryError) {
    // Mapped at the boundary (statement errors → typed errors): a timeout is QueryTimeoutError.
    expect(err).toBeInstanceOf(errors.QueryTimeoutError)
    return (err.cause as { code?: unknown }).code
  }
  return (err as { code?: unknown }).code
}

describe.each(STRATEGIES)("a PostgreSQL store's bounds ('%s')", (strategy) => {
  it("keeps one tenant holding transactions open from delaying another tenant's one-row query, or a login, by 100 ms", async () => {
    const pool = await poolOf(10)
    const { tenancy, tenants } = await setUp(pool, strategy, ['Acme', 'Globex'])
    const [acme, globex] = tenants as [Tenant, Tenant]
    const calls = {
      query: () => globex.query('select 1'),
      login: () => tenancy.auth.login({ email: 'owner@globex.test', password: PASSWORD }),
      acmeLogin: () => tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD }),
    }
    const before = await means(calls)
    const held = holdOpen(acme, 30, 5_000)
    // Acme is in with its share of the pool (4 of 10 by default); the rest of its calls wait their turn.
    await until(() => held.inside() >= 4)
    const under = await means(calls)
    const inside = held.inside()
    const outcomes = await held.finish()
    expect(inside).toBe(4)
    expect(
      Object.values(delays(before, under)).every((ms) => ms < 100),
      JSON.stringify({ before, under }),
    ).toBe(true)
    // Acme's calls past its share waited their turn, and all of them ran.
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(30).fill('fulfilled'))
  })

  it('keeps connections for tenantry’s own records when many organizations fill the tenant share of the pool', async () => {
    const pool = await poolOf(4)
    // On a pool of 4: tenant calls may hold 3, one organization 2.
    const { tenancy, tenants } = await setUp(pool, strategy, ['Acme', 'Globex', 'Initech'])
    const calls = { login: () => tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD }) }
    const before = await means(calls)
    const held = tenants.map((tenant) => holdOpen(tenant, 2, 5_000))
    const inside = () => held.reduce((sum, h) => sum + h.inside(), 0)
    await until(() => inside() >= 3)
    const under = await means(calls)
    const counted = inside()
    await Promise.all(held.map((h) => h.finish()))
    expect(counted).toBe(3)
    expect(delays(before, under).login, JSON.stringify({ before, under })).toBeLessThan(100)
  })

  it('cancels a statement past statementTimeoutMs, the store’s or the call’s, with the engine’s query_canceled', async () => {
    const pool = await poolOf(1)
    const { tenants } = await setUp(pool, strategy, ['Acme'], { statementTimeoutMs: 200 })
    const acme = tenants[0]!
    const failure = (call: Promise<unknown>) => call.then(() => 'completed', sqlState)
    expect(await failure(acme.query('select pg_sleep(2)'))).toBe('57014')
    expect(await failure(acme.transaction((client) => client.query('select pg_sleep(2)')))).toBe('57014')
    // The call's own bound replaces the store's: 0 is none at all, a shorter one applies.
    expect(await failure(acme.query('select pg_sleep(0.4)', [], { statementTimeoutMs: 0 }))).toBe('completed')
    expect(
      await failure(acme.transaction((client) => client.query('select pg_sleep(0.4)'), { statementTimeoutMs: 5_000 })),
    ).toBe('completed')
    expect(await failure(acme.query('select pg_sleep(0.15)', [], { statementTimeoutMs: 50 }))).toBe('57014')
    // Transaction-local: the host's next query on the same connection runs under its own settings.
    expect((await pool.query('show statement_timeout')).rows).toEqual([{ statement_timeout: '0' }])
  })

  it('ends a tenant transaction left idle past idleInTransactionTimeoutMs, rolled back, and the pool serves on', async () => {
    const pool = await poolOf(1)
    const { tenants, notes } = await setUp(pool, strategy, ['Acme'])
    const acme = tenants[0]!
    await expect(
      acme.transaction(
        async (client) => {
          await client.query(`insert into ${notes} (id, body) values (1, 'left open')`)
          await new Promise((resolve) => setTimeout(resolve, 600))
          return client.query('select 1')
        },
        { idleInTransactionTimeoutMs: 150 },
      ),
    ).rejects.toThrow()
    expect((await acme.query(`select body from ${notes}`)).rows).toEqual([])
    // The store's default (10 s) leaves a short pause alone.
    await acme.transaction(async (client) => {
      await client.query(`insert into ${notes} (id, body) values (2, 'paused')`)
      await new Promise((resolve) => setTimeout(resolve, 300))
    })
    expect((await acme.query(`select body from ${notes}`)).rows).toEqual([{ body: 'paused' }])
  })
})

describe('one organization’s share of the pool', () => {
  it('serves its calls past the share in arrival order, answers DatabaseUnavailableError to one that waits past acquireTimeoutMs, and lets other organizations in meanwhile', async () => {
    const pool = await poolOf(4)
    const { tenants } = await setUp(pool, 'rls', ['Acme', 'Globex'], {
      maxConnectionsPerOrganization: 1,
      acquireTimeoutMs: 400,
    })
    const [acme, globex] = tenants as [Tenant, Tenant]
    const order: number[] = []
    const first = holdOpen(acme, 1, 2_000)
    await until(() => first.inside() === 1)
    const late = acme.query('select 1').then(
      () => 'answered',
      (err: unknown) => err,
    )
    expect((await means({ query: () => globex.query('select 1') }, 3)).query).toBeLessThan(100)
    expect(await late).toBeInstanceOf(errors.DatabaseUnavailableError)
    const queued = [1, 2, 3].map((n) =>
      acme.transaction(async () => {
        order.push(n)
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(order).toEqual([])
    await first.finish()
    await Promise.all(queued)
    expect(order).toEqual([1, 2, 3])
  })

  it('refuses per-call bounds that are not whole milliseconds, or not for that call, with a TypeError', async () => {
    const pool = await poolOf(1)
    const { tenants } = await setUp(pool, 'schema', ['Acme'])
    const acme = tenants[0]!
    await expect(acme.query('select 1', [], { statementTimeoutMs: -1 })).rejects.toBeInstanceOf(TypeError)
    await expect(
      acme.query('select 1', [], { idleInTransactionTimeoutMs: 5 } as { statementTimeoutMs?: number }),
    ).rejects.toBeInstanceOf(TypeError)
    await expect(
      acme.transaction(async () => 1, { statementTimeoutMs: 1.5, idleInTransactionTimeoutMs: 1 }),
    ).rejects.toBeInstanceOf(TypeError)
    await expect(acme.transaction(async () => 1, { timeout: 5 } as never)).rejects.toBeInstanceOf(TypeError)
    expect(await acme.transaction(async () => 1, { statementTimeoutMs: 10, idleInTransactionTimeoutMs: 0 })).toBe(1)
  })
})
