import type { RequestListener } from 'node:http'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import { createApp as expressApp } from '../../examples/express/app.js'
import { createApp as koaApp } from '../../examples/koa/app.js'
import { notesStore } from '../support/notes-store.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

// Behind a proxy that sets X-Forwarded-For, as the examples' trustProxy assumes, so each request
// can come from the address the test chooses.
const FRAMEWORKS: [string, (tenancy: Tenancy) => RequestListener][] = [
  ['Express', (tenancy) => expressApp(tenancy, { trustProxy: true })],
  ['Koa', (tenancy) => koaApp(tenancy, { trustProxy: true }).callback()],
]
const VICTIM = { email: 'owner@acme.test', password: PASSWORD }

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

for (const [framework, app] of FRAMEWORKS)
  describe(`a distributed login flood (${framework})`, () => {
    async function setUp() {
      const tenancy = createTenancy({ auth: TEST_AUTH, baseDomain: 'example.test', store: notesStore() })
      await tenancy.orgs.create({ name: 'Acme', ...VICTIM })
      server = await startServer(app(tenancy))
      const login = async (from: string, body: unknown) =>
        (
          await fetch(`${server!.url}/admin/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
            body: JSON.stringify(body),
          })
        ).status
      return { login }
    }

    it('never answers 429 to the owner at an address they signed in from, while 30 addresses guess their password', async () => {
      const { login } = await setUp()
      expect(await login('198.51.100.7', VICTIM)).toBe(200)
      const attackers = Array.from({ length: 30 }, (_, i) => `203.0.113.${i + 1}`)
      const owner: number[] = []
      const guesses: number[] = []
      for (let round = 0; round < 14; round++) {
        const [mine, ...theirs] = await Promise.all([
          login('198.51.100.7', VICTIM),
          ...attackers.map((from) => login(from, { email: VICTIM.email, password: `guess ${round} ${from}` })),
        ])
        owner.push(mine!)
        guesses.push(...theirs)
      }
      // Measured: 0 of 14 (13 of 14 before familiar addresses).
      expect(owner.filter((status) => status === 429)).toHaveLength(0)
      expect(owner.every((status) => status === 200)).toBe(true)
      // The attackers still got at most the account's budget of guesses at bcrypt.
      expect(guesses.filter((status) => status === 401).length).toBeLessThanOrEqual(10)
      expect(guesses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(420 - 10)
      // The bound stated for a new address: it shares the account's budget with the flood.
      expect(await login('192.0.2.44', VICTIM)).toBe(429)
    })

    it('counts one IPv6 host rotating inside its /64 as one client', async () => {
      const { login } = await setUp()
      const statuses: number[] = []
      for (let i = 1; i <= 110; i++)
        statuses.push(await login(`2001:db8:1:2:${i.toString(16)}::1`, { email: `u${i}@spray.test`, password: 'x' }))
      // Measured: 100 answered 401, then 429 for the rest of the window.
      expect(statuses.slice(0, 100).every((status) => status === 401)).toBe(true)
      expect(statuses.slice(100).every((status) => status === 429)).toBe(true)
      // The next /64 is another client.
      expect(await login('2001:db8:1:3::1', { email: 'u@spray.test', password: 'x' })).toBe(401)
    })
  })

describe('login limits by address', () => {
  const tenancyWith = (loginLimits: object) =>
    createTenancy({ auth: { ...TEST_AUTH, loginLimits }, store: memoryStore() })
  const fail = (tenancy: Tenancy, email: string, clientAddress: string): Promise<string> =>
    tenancy.auth.login({ email, password: 'wrong password' }, { clientAddress }).then(
      () => 'SIGNED_IN',
      (err: { code: string }) => err.code,
    )

  it('counts each IPv6 address apart with ipv6Prefix: 128, and an IPv4-mapped address as its IPv4 one', async () => {
    const each = tenancyWith({ ipv6Prefix: 128, perClient: new RateLimiterMemory({ points: 2, duration: 60 }) })
    for (let i = 1; i <= 5; i++) expect(await fail(each, `u${i}@x.test`, `2001:db8::${i}`)).toBe('INVALID_CREDENTIALS')
    const mapped = tenancyWith({ perClient: new RateLimiterMemory({ points: 2, duration: 60 }) })
    expect(await fail(mapped, 'a@x.test', '192.0.2.9')).toBe('INVALID_CREDENTIALS')
    expect(await fail(mapped, 'b@x.test', '::ffff:192.0.2.9')).toBe('INVALID_CREDENTIALS')
    expect(await fail(mapped, 'c@x.test', '::ffff:c000:209')).toBe('TOO_MANY_REQUESTS')
    expect(() => tenancyWith({ ipv6Prefix: 0 })).toThrow(TypeError)
    expect(() => tenancyWith({ ipv6Prefix: 129 })).toThrow(TypeError)
  })

  it('stops a botnet spreading failures over accounts at the global budget, and still lets familiar addresses in', async () => {
    const tenancy = tenancyWith({ global: new RateLimiterMemory({ points: 20, duration: 60 }) })
    await tenancy.orgs.create({ name: 'Acme', ...VICTIM })
    await tenancy.auth.login(VICTIM, { clientAddress: '198.51.100.7' })
    const outcomes: string[] = []
    for (let i = 1; i <= 40; i++) outcomes.push(await fail(tenancy, `user${i}@spray.test`, `203.0.113.${i}`))
    // Measured: 20 failures counted, then 429 for every unfamiliar attempt in the window.
    expect(outcomes.filter((code) => code === 'INVALID_CREDENTIALS')).toHaveLength(20)
    expect(outcomes.filter((code) => code === 'TOO_MANY_REQUESTS')).toHaveLength(20)
    await expect(tenancy.auth.login(VICTIM, { clientAddress: '198.51.100.7' })).resolves.toMatchObject({
      accessToken: expect.any(String),
    })
    expect(await fail(tenancy, VICTIM.email, '192.0.2.1')).toBe('TOO_MANY_REQUESTS')
  })

  it('gives a success its global point back, so sign-ins alone never spend the budget', async () => {
    const tenancy = tenancyWith({ global: new RateLimiterMemory({ points: 3, duration: 60 }) })
    await tenancy.orgs.create({ name: 'Acme', ...VICTIM })
    for (let i = 1; i <= 6; i++) await tenancy.auth.login(VICTIM, { clientAddress: `203.0.113.${i}` })
    expect(await fail(tenancy, 'other@x.test', '192.0.2.1')).toBe('INVALID_CREDENTIALS')
  })

  it('keeps the owner’s own guesses from a familiar address to the account’s budget', async () => {
    const tenancy = tenancyWith({})
    await tenancy.orgs.create({ name: 'Acme', ...VICTIM })
    await tenancy.auth.login(VICTIM, { clientAddress: '198.51.100.7' })
    const outcomes: string[] = []
    for (let i = 0; i < 11; i++) outcomes.push(await fail(tenancy, VICTIM.email, '198.51.100.7'))
    expect(outcomes.slice(0, 10).every((code) => code === 'INVALID_CREDENTIALS')).toBe(true)
    expect(outcomes[10]).toBe('TOO_MANY_REQUESTS')
  })
})
