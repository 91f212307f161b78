import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore } from 'tenantry'
import { redisLoginLimits } from 'tenantry/redis'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The local Redis (127.0.0.1:6379, or REDIS_URL); every key this file writes is under its own prefix.
describe('login limits in Redis', () => {
  let redis: Redis
  const keyPrefix = `tenantry-test-${randomBytes(4).toString('hex')}`

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    })
  })
  afterAll(async () => {
    const keys = await redis.keys(`${keyPrefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  })

  it('shares one count per account across every instance of the app', async () => {
    const store = memoryStore()
    const loginLimits = () =>
      redisLoginLimits({ client: redis, keyPrefix, perAccount: { points: 3, duration: 60 }, perClient: false })
    const instanceA = createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } })
    const instanceB = createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } })
    await instanceA.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    await expect(instanceA.auth.login({ email: 'a@acme.test', password: 'wrong one' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(instanceB.auth.login({ email: 'a@acme.test', password: 'wrong two' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(instanceA.auth.login({ email: 'a@acme.test', password: 'wrong three' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(instanceB.auth.login({ email: 'a@acme.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      retryAfterSeconds: expect.any(Number),
    })
    // Nothing in Redis names the account.
    const keys = await redis.keys(`${keyPrefix}*`)
    expect(keys.length).toBeGreaterThan(0)
    expect(keys.join(' ')).not.toContain('acme')
  })

  it('limits a client address across accounts and instances', async () => {
    const store = memoryStore()
    const loginLimits = () =>
      redisLoginLimits({
        client: redis,
        keyPrefix: `${keyPrefix}-client`,
        perAccount: false,
        perClient: { points: 2, duration: 60 },
      })
    const [one, two] = [
      createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } }),
      createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } }),
    ]
    const from = { clientAddress: '203.0.113.7' }
    await expect(one.auth.login({ email: 'x@spray.test', password: PASSWORD }, from)).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(two.auth.login({ email: 'y@spray.test', password: PASSWORD }, from)).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(one.auth.login({ email: 'z@spray.test', password: PASSWORD }, from)).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    })
    await expect(
      one.auth.login({ email: 'z@spray.test', password: PASSWORD }, { clientAddress: '198.51.100.1' }),
    ).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' })
  })

  it('refuses a missing client at start-up with a TypeError', () => {
    expect(() => redisLoginLimits({} as never)).toThrow(TypeError)
    expect(() => redisLoginLimits({ client: redis, familiarSeconds: 0 })).toThrow(TypeError)
  })

  it('knows on every instance the addresses an owner signed in from, and counts a flood globally', async () => {
    const store = memoryStore()
    const loginLimits = () =>
      redisLoginLimits({ client: redis, keyPrefix: `${keyPrefix}-familiar`, global: { points: 15, duration: 60 } })
    const [one, two] = [
      createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } }),
      createTenancy({ store, auth: { ...TEST_AUTH, loginLimits: loginLimits() } }),
    ]
    const owner = { email: 'owner@acme.test', password: PASSWORD }
    await one.orgs.create({ name: 'Acme', ...owner })
    await one.auth.login(owner, { clientAddress: '2001:db8:7:7::1' })
    const codes: string[] = []
    for (let i = 1; i <= 20; i++)
      codes.push(
        await two.auth
          .login(
            { email: i % 2 ? owner.email : `other${i}@acme.test`, password: 'a guess' },
            {
              clientAddress: `203.0.113.${i}`,
            },
          )
          .then(
            () => 'SIGNED_IN',
            (err: { code: string }) => err.code,
          ),
      )
    // The owner's account budget (10) and then the global one (15) were spent across instances.
    expect(codes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(15)
    // Another address in the owner's /64 is the same client, familiar on the other instance.
    await expect(two.auth.login(owner, { clientAddress: '2001:db8:7:7::beef' })).resolves.toMatchObject({
      accessToken: expect.any(String),
    })
    await expect(two.auth.login(owner, { clientAddress: '2001:db8:7:8::1' })).rejects.toMatchObject({
      code: 'TOO_MANY_REQUESTS',
    })
  })
})
