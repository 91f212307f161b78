import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, RefreshTokenInvalidError, TokenInvalidError } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

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

  it('ends a session at its absolute lifetime, however often it was refreshed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ refreshIdleSeconds: 2 * 24 * 3600, sessionLifetimeSeconds: 3 * 24 * 3600 })
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

  it('refuses an access token of an expired session even before the token itself expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, tokens } = await session({ expiresIn: 7200, sessionLifetimeSeconds: 3600 })
    expect((await tenancy.registry.resolve(tokens.accessToken)).name).toBe('Acme')
    vi.setSystemTime(Date.now() + 3601 * 1000)
    await expect(tenancy.registry.resolve(tokens.accessToken)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('stores a refresh token only as its hash', async () => {
    const { tenancy, tokens } = await session()
    expect(tokens.refreshToken).toMatch(/^rt_[\w-]{43}$/) // 256 random bits
    expect(await tenancy.store.consumeRefreshToken(tokens.refreshToken, new Date())).toBeNull()
    await expect(tenancy.auth.refresh(tokens.refreshToken)).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('refuses bad lifetimes at start-up with a TypeError', () => {
    expect(() => createTenancy({ auth: { ...TEST_AUTH, refreshIdleSeconds: 0 } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: { ...TEST_AUTH, sessionLifetimeSeconds: 1.5 } })).toThrow(TypeError)
  })
})
