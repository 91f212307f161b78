import { availableParallelism } from 'node:os'
import { Redis } from 'ioredis'
import jwt from 'jsonwebtoken'
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, memoryStore, type AuditEvent } from 'tenantry'
import { PASSWORD, TEST_AUTH, TEST_SECRET } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

/** Acme and Globex; shared@x.test belongs to both, a@acme.test to Acme only. */
async function twoOrganizations(auth: Partial<typeof TEST_AUTH> & Record<string, unknown> = {}, store = memoryStore()) {
  const events: AuditEvent[] = []
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, ...auth }, store, onAudit: (event) => events.push(event) })
  const { organization: acme } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const { organization: globex } = await tenancy.orgs.create({
    name: 'Globex',
    email: 'shared@x.test',
    password: PASSWORD,
  })
  const owner = await tenancy.authenticate(
    (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
  )
  const { token } = await tenancy.invitations.invite(owner, { email: 'shared@x.test', role: 'member' })
  await tenancy.invitations.accept({ token, password: PASSWORD })
  events.length = 0
  return { tenancy, acme, globex, owner, events }
}

async function refusal(call: Promise<unknown>): Promise<{ code?: string; message?: string; organizations?: unknown }> {
  const err = await call.then(
    () => null,
    (error: unknown) => error,
  )
  if (err === null) throw new Error('the call was not refused')
  return err as { code?: string; message?: string }
}

const orgOf = (accessToken: string) => (jwt.decode(accessToken) as { org: string }).org

afterEach(() => {
  vi.useRealTimers()
})

describe('logins', () => {
  it('asks which organization when an account has several, and logs in to the one named', async () => {
    const { tenancy, acme, globex } = await twoOrganizations()
    const asked = await refusal(tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD }))
    expect(asked).toMatchObject({ code: 'ORGANIZATION_REQUIRED' })
    expect((asked as { organizations: unknown[] }).organizations).toEqual(
      expect.arrayContaining([
        { name: 'Acme', slug: 'acme' },
        { name: 'Globex', slug: 'globex' },
      ]),
    )
    expect(
      orgOf(
        (await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD, organizationName: 'acme' }))
          .accessToken,
      ),
    ).toBe(acme.id)
    expect(
      orgOf(
        (await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD, organizationName: 'Globex' }))
          .accessToken,
      ),
    ).toBe(globex.id)
    expect(
      await refusal(tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD, organizationName: 'Initech' })),
    ).toMatchObject({ code: 'ORGANIZATION_NOT_FOUND', message: 'no organization has this name' })
  })

  it('finds the account whatever the case and surrounding spaces of the email', async () => {
    const { tenancy, acme } = await twoOrganizations()
    expect(orgOf((await tenancy.auth.login({ email: '  A@ACME.test ', password: PASSWORD })).accessToken)).toBe(acme.id)
  })

  it('records a failed login in every organization of the account, and once with no organization for an unknown email', async () => {
    const { tenancy, acme, globex, events } = await twoOrganizations()
    await refusal(
      tenancy.auth.login({ email: 'Shared@X.test', password: 'not the password' }, { clientAddress: '203.0.113.7' }),
    )
    const shared = (await storeOf(tenancy).records.accounts.find({ email: 'shared@x.test' }))!
    expect(events.filter((event) => event.type === 'login.failed')).toEqual(
      expect.arrayContaining(
        [acme.id, globex.id].map((organizationId) =>
          expect.objectContaining({
            organizationId,
            accountId: shared.id,
            clientAddress: '203.0.113.7',
            details: { reason: 'invalid_credentials' },
          }),
        ),
      ),
    )
    events.length = 0
    await refusal(tenancy.auth.login({ email: 'ghost@x.test', password: PASSWORD }))
    expect(events).toEqual([
      expect.objectContaining({ type: 'login.failed', organizationId: null, accountId: null, clientAddress: null }),
    ])
  })

  it('records a throttled login, and forgets an account’s failures once it logs in', async () => {
    const { tenancy, events } = await twoOrganizations({
      loginLimits: { perAccount: new RateLimiterMemory({ points: 2, duration: 60 }), perClient: false },
    })
    await refusal(tenancy.auth.login({ email: 'a@acme.test', password: 'wrong password one' }))
    await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    await refusal(tenancy.auth.login({ email: 'a@acme.test', password: 'wrong password two' }))
    // Two points a minute: without the reset, this third attempt would be the third.
    await expect(tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).resolves.toMatchObject({
      tokenType: 'Bearer',
    })
    await refusal(tenancy.auth.login({ email: 'a@acme.test', password: 'wrong' }))
    await refusal(tenancy.auth.login({ email: 'a@acme.test', password: 'wrong' }))
    expect(
      await refusal(
        tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD }, { clientAddress: '198.51.100.1' }),
      ),
    ).toMatchObject({ code: 'TOO_MANY_REQUESTS' })
    expect(events.at(-1)).toMatchObject({
      type: 'login.failed',
      organizationId: null,
      clientAddress: '198.51.100.1',
      details: { reason: 'throttled' },
    })
  })

  it('logs in to the organizations that are active only', async () => {
    const { tenancy, acme, globex } = await twoOrganizations()
    await storeOf(tenancy).records.organizations.transition(globex.id, { from: ['active'], to: 'deleting' })
    expect(orgOf((await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD })).accessToken)).toBe(acme.id)
    await storeOf(tenancy).records.organizations.transition(acme.id, { from: ['active'], to: 'deleting' })
    expect(await refusal(tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD }))).toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
  })

  it('switches to another organization of the caller’s account, and to no other', async () => {
    const { tenancy, globex, events } = await twoOrganizations()
    const inAcme = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD, organizationName: 'Acme' })).accessToken,
    )
    const switched = await tenancy.auth.switchOrganization(inAcme, 'Globex', { clientAddress: '203.0.113.8' })
    expect(orgOf(switched.accessToken)).toBe(globex.id)
    expect(events.at(-1)).toMatchObject({
      type: 'login.succeeded',
      organizationId: globex.id,
      clientAddress: '203.0.113.8',
      details: { via: 'switch' },
    })
    await tenancy.orgs.create({ name: 'Initech', email: 'i@initech.test', password: PASSWORD })
    expect(await refusal(tenancy.auth.switchOrganization(inAcme, 'Initech'))).toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
      message: 'no organization has this name',
    })
    expect(await refusal(tenancy.auth.switchOrganization(inAcme, 'Nowhere'))).toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
      message: 'no organization has this name',
    })
    expect(await refusal(tenancy.auth.switchOrganization(inAcme, ''))).toMatchObject({ code: 'VALIDATION_FAILED' })
    expect(
      await refusal(tenancy.auth.switchOrganization({ member: { ...inAcme.member, accountId: 'gone' } }, 'Globex')),
    ).toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
  })

  it('starts a session only for a membership that exists as given, in an active organization', async () => {
    const { tenancy, acme, globex, owner } = await twoOrganizations()
    const membership = (await storeOf(tenancy).records.memberships.find({ id: owner.member.id }))!
    expect(orgOf((await tenancy.auth.startSession(membership)).accessToken)).toBe(acme.id)
    const other = (
      await storeOf(tenancy).records.memberships.list({
        accountId: (await storeOf(tenancy).records.accounts.find({ email: 'shared@x.test' }))!.id,
      })
    )[0]!
    for (const forged of [
      { ...membership, accountId: other.accountId },
      { ...membership, organizationId: globex.id },
      { ...membership, organizationId: 'elsewhere' },
      { ...membership, id: 'no-such-membership' },
      { ...membership, accountId: 'no-such-account' },
    ]) {
      expect(await refusal(tenancy.auth.startSession(forged))).toMatchObject({
        code: 'ORGANIZATION_NOT_FOUND',
        message: 'no such membership',
      })
    }
    await storeOf(tenancy).records.organizations.transition(acme.id, { from: ['active'], to: 'deleting' })
    expect(await refusal(tenancy.auth.startSession(membership))).toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
      message: 'no such membership',
    })
  })

  it('records who ended a session, by logout or by revoking its refresh token', async () => {
    const { tenancy, acme, owner, events } = await twoOrganizations()
    await tenancy.auth.logout(owner, { clientAddress: '203.0.113.9' })
    expect(events.at(-1)).toMatchObject({
      type: 'session.ended',
      organizationId: acme.id,
      accountId: owner.member.accountId,
      clientAddress: '203.0.113.9',
    })
    const { refreshToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    await tenancy.auth.revokeRefreshToken(refreshToken, { clientAddress: '203.0.113.10' })
    expect(events.at(-1)).toMatchObject({
      type: 'session.ended',
      organizationId: acme.id,
      accountId: owner.member.accountId,
      clientAddress: '203.0.113.10',
      details: { via: 'refresh_token' },
    })
    await tenancy.auth.logout(owner)
    expect(events.at(-1)).toMatchObject({ type: 'session.ended', clientAddress: null })
  })

  it('refuses a well-signed token whose claims are malformed, saying so', async () => {
    const { tenancy, owner } = await twoOrganizations()
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const { header, payload } = jwt.decode(accessToken, { complete: true }) as {
      header: jwt.JwtHeader
      payload: Record<string, unknown>
    }
    const sign = (changes: Record<string, unknown>) =>
      jwt.sign({ ...payload, ...changes }, TEST_SECRET, {
        algorithm: 'HS256',
        header: header as jwt.JwtHeader & { alg: 'HS256' },
      })
    expect(tenancy.auth.verifyAccessToken(sign({}))).toMatchObject({
      accountId: owner.member.accountId,
      organizationId: owner.id,
      membershipId: owner.member.id,
      role: 'owner',
      tokenVersion: 0,
    })
    for (const changes of [
      { sub: '' },
      { org: '' },
      { mid: '' },
      { role: '' },
      { sid: '' },
      { ver: -1 },
      { ver: 0.5 },
      { ver: '0' },
      { sub: 7 },
    ]) {
      expect(() => tenancy.auth.verifyAccessToken(sign(changes)), JSON.stringify(changes)).toThrow(
        'the access token lacks required claims',
      )
    }
  })

  it('lets a refresh token lapse after 7 idle days and a session end 30 days after login, by default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const start = Date.parse('2026-03-01T00:00:00.000Z')
    vi.setSystemTime(start)
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const day = 24 * 3600 * 1000
    const idle = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    let current = (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).refreshToken
    vi.setSystemTime(start + 7 * day)
    expect(await refusal(tenancy.auth.refresh(idle.refreshToken))).toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
    // Used every 6 days, a session lives 30 days from login and not a millisecond more.
    for (const at of [6, 12, 18, 24]) {
      vi.setSystemTime(start + at * day)
      current = (await tenancy.auth.refresh(current)).refreshToken
    }
    vi.setSystemTime(start + 30 * day - 1)
    current = (await tenancy.auth.refresh(current)).refreshToken
    vi.setSystemTime(start + 30 * day)
    expect(await refusal(tenancy.auth.refresh(current))).toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
  })

  it('runs one bcrypt operation fewer than the machine has cores (at least one) at once, by default', async () => {
    const tenancy = createTenancy({ auth: { ...TEST_AUTH, maxQueuedHashes: 0 } })
    const slots = Math.max(1, availableParallelism() - 1)
    const results = await Promise.allSettled(
      Array.from({ length: slots + 2 }, () => tenancy.auth.hashPassword(PASSWORD)),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(slots)
  })

  it('logs in despite a membership whose organization record is gone (a delete stopped midway)', async () => {
    const store = memoryStore()
    const { tenancy, acme, globex } = await twoOrganizations({}, store)
    await store.records.organizations.delete(globex.id)
    expect(orgOf((await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD })).accessToken)).toBe(acme.id)
  })

  it('fails a login with the limiter’s own error when its Redis cannot be reached, and records no throttling', async () => {
    // Nothing listens on port 1; without an offline queue, every command fails at once.
    const redis = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    try {
      const store = memoryStore()
      await twoOrganizations({}, store)
      const events: AuditEvent[] = []
      const perAccount = new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: 'unreachable',
        points: 10,
        duration: 60,
      })
      const tenancy = createTenancy({
        auth: { ...TEST_AUTH, loginLimits: { perAccount, perClient: false } },
        store,
        onAudit: (event) => events.push(event),
      })
      const err = await refusal(tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD }))
      expect(err).toMatchObject({ message: expect.stringContaining('enableOfflineQueue') })
      expect(err.code).toBeUndefined()
      expect(events).toEqual([])
    } finally {
      redis.disconnect()
    }
  })
})
