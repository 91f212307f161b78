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
  })
})
