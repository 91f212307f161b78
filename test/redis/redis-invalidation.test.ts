import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy, type Store } from 'tenantry'
import { redisInvalidation, type RedisInvalidation } from 'tenantry/redis'
import { notesStore } from '../support/notes-store.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { registryOf } from '../support/store-of.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * Two instances of one app: one store, a cache each, connected through the local Redis on a
 * channel of this test's own. The cache TTL is a minute, so only an invalidation can explain a
 * change seen in less.
 */
describe('cache invalidation across instances through Redis', () => {
  const opened: { client: Redis; invalidation: RedisInvalidation }[] = []
  /** A's publishes fail while `dropping` is set, as on a lost connection; everything else is the real client. */
  const lossy = { dropping: false }
  afterEach(() => {
    lossy.dropping = false
    for (const { client, invalidation } of opened.splice(0)) {
      invalidation.close()
      client.disconnect()
    }
  })

  async function instances(options: { heartbeatMs?: number } = {}) {
    const store: Store = notesStore()
    const channel = `tenantry-test-${randomBytes(4).toString('hex')}:invalidate`
    let count = 0
    const instance = () => {
      const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
      const first = count++ === 0
      const publisher = {
        publish: (...args: [string, string]) =>
          first && lossy.dropping ? Promise.reject(new Error('Connection is closed.')) : client.publish(...args),
        duplicate: () => client.duplicate(),
      }
      const invalidation = redisInvalidation({ client: publisher, channel, ...options })
      opened.push({ client, invalidation })
      return {
        tenancy: createTenancy({
          store,
          auth: TEST_AUTH,
          baseDomain: 'example.test',
          cache: { invalidation, ttlMs: 60_000 },
        }),
        invalidation,
      }
    }
    const [a, b] = [instance(), instance()]
    await Promise.all([a.invalidation.ready, b.invalidation.ready])
    await a.tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    return { a, b, channel }
  }

  async function session(tenancy: Tenancy) {
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    return { accessToken, tenant: await tenancy.authenticate(accessToken) }
  }

  /** Milliseconds until `seen()` holds on the other instance, polling every event-loop turn, at most 2 s. */
  async function propagation(seen: () => Promise<boolean>): Promise<number> {
    const start = performance.now()
    while (!(await seen())) {
      if (performance.now() - start > 2000) throw new Error('the change never reached the other instance')
      await new Promise((resolve) => setImmediate(resolve))
    }
    return performance.now() - start
  }
  const refused = (tenancy: Tenancy, token: string) => () =>
    tenancy.authenticate(token).then(
      () => false,
      () => true,
    )

  it('refuses a logged-out token on the other instance within milliseconds, over 200 trials', async () => {
    const { a, b } = await instances()
    const times: number[] = []
    for (let trial = 0; trial < 200; trial++) {
      const { accessToken, tenant } = await session(a.tenancy)
      await b.tenancy.authenticate(accessToken) // cached on B
      await a.tenancy.auth.logout(tenant as never)
      times.push(await propagation(refused(b.tenancy, accessToken)))
    }
    times.sort((x, y) => x - y)
    const p50 = times[99]!
    const p99 = times[197]!
    console.log(
      `invalidation propagation over 200 logouts: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${times[199]!.toFixed(2)} ms`,
    )
    expect(p99).toBeLessThan(250)
  })

  it('carries a password change, a reslug and a delete to the other instance', async () => {
    const { a, b } = await instances()
    const first = await session(a.tenancy)
    await b.tenancy.authenticate(first.accessToken)
    await a.tenancy.orgs.update(first.tenant, { password: 'a brand new passphrase' })
    await propagation(refused(b.tenancy, first.accessToken))

    await b.tenancy.tenant({ slug: 'acme' })
    const { accessToken } = await a.tenancy.auth.login({ email: 'a@acme.test', password: 'a brand new passphrase' })
    const admin = await a.tenancy.authenticate(accessToken)
    await a.tenancy.orgs.update(admin, { slug: 'acme-inc' })
    await propagation(() =>
      b.tenancy.tenant({ slug: 'acme' }).then(
        () => false,
        () => true,
      ),
    )

    await b.tenancy.authenticate(accessToken)
    await a.tenancy.orgs.delete(admin, 'Acme')
    await propagation(refused(b.tenancy, accessToken))
  })

  it('carries a host user’s removal and a suspension to the other instance, whose cache had their membership', async () => {
    const { a, b } = await instances()
    const bob = await a.tenancy.accounts.link({ subject: 'host-bob' })
    const acme = await a.tenancy.tenant({ slug: 'acme' })
    const member = await a.tenancy.admin.addMember(acme.id, { accountId: bob.id, role: 'member' })
    const lookup = () => registryOf(b.tenancy).memberOf({ slug: 'acme' }, 'host-bob')
    const refusedWith = (code: string) => () =>
      lookup().then(
        () => false,
        (err) => err.code === code,
      )
    expect((await lookup()).member).toMatchObject({ id: member.id, role: 'member' }) // cached on B
    await a.tenancy.admin.suspend(acme.id, { reason: 'unpaid' })
    await propagation(refusedWith('ORGANIZATION_SUSPENDED'))
    await a.tenancy.admin.resume(acme.id)
    expect((await lookup()).member?.role).toBe('member')
    await a.tenancy.admin.changeRole(acme.id, member.id, 'admin')
    await propagation(async () => (await lookup()).member?.role === 'admin')
    await a.tenancy.admin.removeMember(acme.id, member.id)
    await propagation(refusedWith('TENANT_ACCESS_DENIED'))
  })

  it('serves nothing from its cache while its subscription is down, and resubscribes by itself', async () => {
    const { a, b } = await instances()
    const first = await session(a.tenancy)
    await b.tenancy.authenticate(first.accessToken)
    // Kill B's subscribing connection, as a Redis restart or a network cut would.
    const admin = new Redis(REDIS_URL)
    try {
      const clients = String(await admin.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
      for (const line of clients.split('\n').filter(Boolean))
        await admin.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)![1]!)
    } finally {
      admin.disconnect()
    }
    await propagation(async () => !b.invalidation.healthy)
    // A logs out while B hears nothing: B must not answer from its cache.
    await a.tenancy.auth.logout(first.tenant as never)
    await expect(b.tenancy.authenticate(first.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    // It comes back by itself, forgets what it cached before the outage, and invalidations flow again.
    await propagation(async () => b.invalidation.healthy)
    await expect(b.tenancy.authenticate(first.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    const second = await session(a.tenancy)
    await b.tenancy.authenticate(second.accessToken)
    await a.tenancy.auth.logout(second.tenant as never)
    await propagation(refused(b.tenancy, second.accessToken))
  })

  it('refuses a logged-out token on the other instance within two and a half heartbeats when the logout’s publish is lost', async () => {
    const { a, b } = await instances()
    const first = await session(a.tenancy)
    await b.tenancy.authenticate(first.accessToken) // cached on B for a minute
    lossy.dropping = true
    await a.tenancy.auth.logout(first.tenant as never)
    const elapsed = await propagation(refused(b.tenancy, first.accessToken))
    console.log(`a lost publish: the other instance refused the token after ${elapsed.toFixed(0)} ms`)
    expect(elapsed).toBeLessThan(1_500) // two beats of 500 ms of silence, and the half beat that notices
    expect(a.invalidation.pending).toBe(1)
    // Once A's publishes go through again, the retried message lands and B trusts its cache again.
    lossy.dropping = false
    await propagation(async () => a.invalidation.pending === 0 && b.invalidation.healthy)
    const second = await session(a.tenancy)
    await b.tenancy.authenticate(second.accessToken)
    await a.tenancy.auth.logout(second.tenant as never)
    expect(await propagation(refused(b.tenancy, second.accessToken))).toBeLessThan(250)
  })

  it('publishes every change it could not publish, in order, once its connection is back', async () => {
    const { a, channel } = await instances({ heartbeatMs: 50 })
    const listener = new Redis(REDIS_URL)
    const heard: string[] = []
    try {
      await listener.subscribe(channel)
      listener.on('message', (_from: string, raw: string) => {
        const { k, i } = JSON.parse(raw) as { k?: string; i?: string }
        if (k) heard.push(`${k}:${i}`)
      })
      lossy.dropping = true
      const sessions = [await session(a.tenancy), await session(a.tenancy), await session(a.tenancy)]
      for (const { tenant } of sessions) await a.tenancy.auth.logout(tenant as never)
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(heard).toEqual([])
      lossy.dropping = false
      await propagation(async () => a.invalidation.pending === 0)
      await propagation(async () => heard.length >= 3)
      expect(heard).toEqual(sessions.map(({ tenant }) => `session:${tenant.sessionId}`))
    } finally {
      listener.disconnect()
    }
  })

  it('trusts its cache again once a silent instance is forgotten, or at once when it stops cleanly', async () => {
    const { b } = await instances({ heartbeatMs: 20 })
    lossy.dropping = true // A is cut off: no heartbeat reaches B
    await propagation(async () => !b.invalidation.healthy)
    // Sixty beats (1.2 s) without a word: taken for stopped, and B's cache is trusted again.
    await propagation(async () => b.invalidation.healthy)
    lossy.dropping = false
    const c = await instances({ heartbeatMs: 20 })
    c.a.invalidation.close()
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(c.b.invalidation.healthy).toBe(true)
  })

  it('refuses a client that is not one, at start-up', () => {
    expect(() => redisInvalidation({ client: {} })).toThrow(TypeError)
    expect(() => redisInvalidation({ client: new Redis(REDIS_URL, { lazyConnect: true }), channel: '' })).toThrow(
      TypeError,
    )
    expect(() => redisInvalidation({ client: new Redis(REDIS_URL, { lazyConnect: true }), heartbeatMs: 0 })).toThrow(
      TypeError,
    )
    expect(() => createTenancy({ auth: TEST_AUTH, cache: { invalidation: {} as never } })).toThrow(TypeError)
  })
})
