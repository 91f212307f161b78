import v8 from 'node:v8'
import vm from 'node:vm'
import jwt from 'jsonwebtoken'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void
const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}
const sessionOf = (accessToken: string) => (jwt.decode(accessToken) as { sid: string }).sid

/** m@x.test owns Acme and is a member of Globex. */
async function member(sessionLimits: Record<string, unknown> = {}) {
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, sessionLimits }, store: memoryStore() })
  const { owner } = await tenancy.orgs.create({ name: 'Acme', email: 'm@x.test', password: PASSWORD })
  const { organization } = await tenancy.orgs.create({ name: 'Globex', email: 'g@x.test', password: PASSWORD })
  await tenancy.admin.addMember(organization.id, { accountId: owner.accountId, role: 'member' })
  const login = () => tenancy.auth.login({ email: 'm@x.test', password: PASSWORD, organizationName: 'Acme' })
  return { tenancy, login }
}

const outcome = (call: Promise<unknown>) =>
  call.then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? 'error',
  )

/** A client that switches back and forth and refreshes as fast as it can, keeping its refresh token chain. */
async function switchAndRefresh(
  tenancy: Tenancy,
  tokens: { accessToken: string; refreshToken: string },
  rounds: number,
) {
  const codes = new Map<string, number>()
  const count = (code: string) => codes.set(code, (codes.get(code) ?? 0) + 1)
  const tenant = await tenancy.authenticate(tokens.accessToken)
  for (let i = 0; i < rounds; i++) {
    count(await outcome(tenancy.auth.switchOrganization(tenant, i % 2 ? 'Acme' : 'Globex')))
    const refreshed = tenancy.auth.refresh(tokens.refreshToken)
    count(await outcome(refreshed))
    tokens.refreshToken = (await refreshed.catch(() => tokens)).refreshToken
  }
  return codes
}

describe('a member’s sessions', () => {
  it('grow the store by a bounded amount over 20,000 switches and 20,000 refreshes', async () => {
    const { tenancy, login } = await member()
    const tokens = await login()
    await switchAndRefresh(tenancy, tokens, 100)
    const warm = heapAfterGc()
    const codes = await switchAndRefresh(tenancy, tokens, 20_000)
    const grown = heapAfterGc() - warm
    console.log(`20,000 switches and refreshes: heap +${(grown / 1024).toFixed(0)} KB`, Object.fromEntries(codes))
    // Unbounded, each switch kept a 30-day session and an audit event (1.7 KB): over 30 MB.
    expect(grown).toBeLessThan(2 * 1024 * 1024)
    expect(codes.get('TOO_MANY_REQUESTS')).toBeGreaterThan(39_000)
  })

  it('ends the oldest sessions once an account holds more than maxSessions', async () => {
    const { tenancy, login } = await member({ perSession: false, perAccount: false, maxSessions: 3 })
    const sessions = []
    for (let i = 0; i < 5; i++) sessions.push(await login())
    const answers = await Promise.all(sessions.map(({ accessToken }) => outcome(tenancy.authenticate(accessToken))))
    expect(answers).toEqual(['TOKEN_INVALID', 'TOKEN_INVALID', 'ok', 'ok', 'ok'])
    expect(await outcome(tenancy.auth.refresh(sessions[0]!.refreshToken))).toBe('REFRESH_TOKEN_INVALID')
    expect(await outcome(tenancy.auth.refresh(sessions[4]!.refreshToken))).toBe('ok')
  })

  it('keeps the same session when a member switches to the organization it is already for', async () => {
    const { tenancy, login } = await member({ perSession: false, perAccount: false })
    const { accessToken } = await login()
    const tenant = await tenancy.authenticate(accessToken)
    const same = await tenancy.auth.switchOrganization(tenant, 'Acme')
    expect(sessionOf(same.accessToken)).toBe(sessionOf(accessToken))
    const other = await tenancy.auth.switchOrganization(tenant, 'Globex')
    expect(sessionOf(other.accessToken)).not.toBe(sessionOf(accessToken))
  })

  it('answers 429 past a session’s limit and leaves the refresh token usable once the limit allows', async () => {
    const perSession = new RateLimiterMemory({ points: 2, duration: 1 })
    const { tenancy, login } = await member({ perSession, perAccount: false })
    let { refreshToken } = await login()
    for (let i = 0; i < 2; i++) ({ refreshToken } = await tenancy.auth.refresh(refreshToken))
    await expect(tenancy.auth.refresh(refreshToken)).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' })
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expect(await outcome(tenancy.auth.refresh(refreshToken))).toBe('ok')
  })

  it('refuses limits that are not limiters, and a maxSessions below 1, at start-up', () => {
    const make = (sessionLimits: unknown) => () =>
      createTenancy({ auth: { ...TEST_AUTH, sessionLimits: sessionLimits as never }, store: memoryStore() })
    expect(make({ perSession: {} })).toThrow(TypeError)
    expect(make({ maxSessions: 0 })).toThrow(TypeError)
  })
})
