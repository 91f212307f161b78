import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, errors } from 'tenantry'
import { holdNextRead } from '../support/hold-next-read.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { RefreshTokenInvalidError, TokenInvalidError } = errors

const DAY = 24 * 3600 * 1000

async function session(auth: Partial<Parameters<typeof createTenancy>[0]['auth']> = {}) {
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, ...auth } })
  await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  return { tenancy, tokens: await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD }) }
}

describe('sessions', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('lets a refresh token lapse when it is not used within the idle lifetime', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ refreshIdleSeconds: 3600 })
    vi.setSystemTime(Date.now() + 3601 * 1000)
    await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
  })

  it('honours a refresh token until the millisecond its idle lifetime ends, and not at that millisecond', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ refreshIdleSeconds: 3600 })
    const other = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const start = Date.now()
    vi.setSystemTime(start + 3600 * 1000 - 1)
    await expect(tenancy.auth.refresh(tokens.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' })
    vi.setSystemTime(start + 3600 * 1000)
    await expect(tenancy.auth.refresh(other.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
  })

  it('ends a session at its absolute lifetime, however often it was refreshed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({
      refreshIdleSeconds: 2 * 24 * 3600,
      sessionLifetimeSeconds: 3 * 24 * 3600,
    })
    let current = tokens
    for (let day = 1; day <= 2; day++) {
      vi.setSystemTime(Date.now() + DAY)
      current = await tenancy.auth.refresh(current.refreshToken)
    }
    vi.setSystemTime(Date.now() + DAY + 1000)
    await expect(tenancy.auth.refresh(current.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
  })

  it('never issues a refresh token that outlives its session', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ refreshIdleSeconds: 10 * 24 * 3600, sessionLifetimeSeconds: 24 * 3600 })
    vi.setSystemTime(Date.now() + DAY + 1000)
    await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
  })

  it('refuses a refresh token that outlives its session, as one stored before tokens were capped would', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ sessionLifetimeSeconds: 24 * 3600 })
    const { sessionId } = tenancy.auth.verifyAccessToken(tokens.accessToken)
    const { createHash } = await import('node:crypto')
    const longLived = `rt_${'A'.repeat(43)}`
    await storeOf(tenancy).records.sessions.insertRefreshToken({
      hash: createHash('sha256').update(longLived).digest('base64url'),
      sessionId,
      createdAt: new Date(),
      expiresAt: new Date(Date.now() + 10 * DAY),
      usedAt: null,
    })
    // The session's last millisecond is the one before expiresAt.
    vi.setSystemTime(Date.now() + DAY)
    await expect(tenancy.auth.refresh(longLived)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
  })

  it('refuses an access token of an expired session even before the token itself expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ expiresIn: 7200, sessionLifetimeSeconds: 3600 })
    expect((await tenancy.authenticate(tokens.accessToken)).name).toBe('Acme')
    vi.setSystemTime(Date.now() + 3601 * 1000)
    await expect(tenancy.authenticate(tokens.accessToken)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  describe('a refresh that races a change', () => {
    /** A refresh held just after it consumed its token and read its session, while `change` runs. */
    async function raceRefresh(
      tenancy: ReturnType<typeof createTenancy>,
      refreshToken: string,
      change: () => Promise<unknown>,
    ) {
      const store = storeOf(tenancy)
      const { reached: sessionRead, release } = holdNextRead(store, 'sessions.find')
      let minted = 0
      const insertRefreshToken = store.records.sessions.insertRefreshToken
      store.records.sessions.insertRefreshToken = async (token) => {
        minted++
        return insertRefreshToken(token)
      }
      const refresh = tenancy.auth.refresh(refreshToken)
      await sessionRead
      await change()
      release()
      await expect(refresh).rejects.toBeInstanceOf(RefreshTokenInvalidError)
      store.records.sessions.insertRefreshToken = insertRefreshToken
      return minted
    }

    it('mints nothing when the password changed meanwhile', async () => {
      const { tenancy, tokens } = await session()
      const tenant = await tenancy.authenticate(tokens.accessToken)
      expect(
        await raceRefresh(tenancy, tokens.refreshToken, () =>
          tenancy.orgs.update(tenant, { password: 'a brand new passphrase' }),
        ),
      ).toBe(0)
    })

    it('mints nothing when the organization started being deleted meanwhile', async () => {
      let unblock!: () => void
      const blocked = new Promise<void>((resolve) => (unblock = resolve))
      let deleting!: () => void
      const inHook = new Promise<void>((resolve) => (deleting = resolve))
      const tenancy = createTenancy({
        auth: TEST_AUTH,
        hooks: {
          beforeDelete: async () => {
            deleting()
            await blocked
          },
        },
      })
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const tokens = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      const tenant = await tenancy.authenticate(tokens.accessToken)
      // The delete is held in beforeDelete: the organization is `deleting`, its members and account still there.
      const deletion = tenancy.orgs.delete(tenant, 'Acme')
      expect(await raceRefresh(tenancy, tokens.refreshToken, () => inHook)).toBe(0)
      unblock()
      await deletion
    })

    it('mints nothing when the membership was removed meanwhile', async () => {
      const tenancy = createTenancy({ auth: TEST_AUTH })
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const owner = await tenancy.authenticate(
        (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
      )
      await tenancy.orgs.create({ name: 'Globex', email: 'm@acme.test', password: PASSWORD })
      const { token } = await tenancy.invitations.invite(owner, { email: 'm@acme.test', role: 'member' })
      const { tokens } = await tenancy.invitations.accept({ token, password: PASSWORD })
      const memberId = (await tenancy.authenticate(tokens.accessToken)).member.id
      // The account keeps its other membership, so only the removed membership can refuse the refresh.
      expect(await raceRefresh(tenancy, tokens.refreshToken, () => tenancy.members.remove(owner, memberId))).toBe(0)
    })
  })

  it('refuses a refresh token passed as a number, nothing or an array, as a host route passing its body on unchecked might, and leaves the real one usable', async () => {
    const { tenancy, tokens } = await session()
    for (const junk of [42, undefined, null, [tokens.refreshToken], { toString: () => tokens.refreshToken }]) {
      await expect(tenancy.auth.refresh(junk as never)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
    }
    await expect(tenancy.auth.refresh(tokens.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('revokes a session by its refresh token (RFC 7009): its refresh and access tokens stop, and junk is no error', async () => {
    const { tenancy, tokens } = await session()
    const other = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    for (const junk of [42, undefined, [other.refreshToken], 'rt_unknown', `rt_${'A'.repeat(43)}`]) {
      await expect(tenancy.auth.revokeRefreshToken(junk as never)).resolves.toBeUndefined()
    }
    await expect(tenancy.authenticate(other.accessToken)).resolves.toMatchObject({ name: 'Acme' })
    await tenancy.auth.revokeRefreshToken(tokens.refreshToken)
    await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError)
    await expect(tenancy.authenticate(tokens.accessToken)).rejects.toBeInstanceOf(TokenInvalidError)
    // The other session, of the same account, goes on.
    await expect(tenancy.auth.refresh(other.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('refuses two replays of a stolen refresh token that overlap, and records one revocation', async () => {
    const events: { type: string }[] = []
    const tenancy = createTenancy({ auth: TEST_AUTH, onAudit: (event) => void events.push(event) })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const stolen = (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).refreshToken
    await tenancy.auth.refresh(stolen)
    // The first replay is held after it took the token, until the second has ended the session.
    const { reached: tookToken, release } = holdNextRead(storeOf(tenancy), 'sessions.consumeRefreshToken')
    const first = tenancy.auth.refresh(stolen)
    await tookToken
    await expect(tenancy.auth.refresh(stolen)).rejects.toThrow(
      'the refresh token was used before; its session has been ended',
    )
    release()
    await expect(first).rejects.toBeInstanceOf(RefreshTokenInvalidError)
    expect(events.filter((event) => event.type === 'sessions.revoked')).toHaveLength(1)
  })

  it('stores a refresh token only as its hash', async () => {
    const { tenancy, tokens } = await session()
    expect(tokens.refreshToken).toMatch(/^rt_[\w-]{43}$/) // 256 random bits
    expect(await storeOf(tenancy).records.sessions.consumeRefreshToken(tokens.refreshToken, new Date())).toBeNull()
    await expect(tenancy.auth.refresh(tokens.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('refuses bad lifetimes at start-up with a TypeError', () => {
    expect(() => createTenancy({ auth: { ...TEST_AUTH, refreshIdleSeconds: 0 } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: { ...TEST_AUTH, sessionLifetimeSeconds: 1.5 } })).toThrow(TypeError)
  })
})
