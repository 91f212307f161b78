import { createHmac } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { beforeEach, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy, errors } from 'tenantry'
import { toProblem } from 'tenantry/http'
import { PASSWORD, TEST_AUTH, TEST_SECRET } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { TokenExpiredError, TokenInvalidError, TooManyRequestsError } = errors

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function hs256(header: object, payload: object, secret: string | Buffer = TEST_SECRET): string {
  const signingInput = `${b64(header)}.${b64(payload)}`
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`
}

describe('Auth', () => {
  let tenancy: Tenancy
  let claims: { sub: string; org: string; mid: string; role: string; ver: number; sid: string }
  // The header of a token the tenancy issued itself (alg, typ, kid), for forging look-alikes.
  let header: { alg: string; typ: string; kid: string }
  const now = () => Math.floor(Date.now() / 1000)

  beforeEach(async () => {
    tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const [encodedHeader, encodedPayload] = accessToken
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    header = encodedHeader
    claims = {
      sub: encodedPayload.sub,
      org: encodedPayload.org,
      mid: encodedPayload.mid,
      role: encodedPayload.role,
      ver: encodedPayload.ver,
      sid: encodedPayload.sid,
    }
  })

  const valid = () => ({ ...claims, iss: 'tenantry', aud: 'tenantry', iat: now(), exp: now() + 60 })

  it('accepts a token it signed itself and resolves its tenant', async () => {
    const tenant = await tenancy.authenticate(hs256(header, valid()))
    expect(tenant).toMatchObject({
      id: claims.org,
      name: 'Acme',
      member: { id: claims.mid, accountId: claims.sub, role: 'owner' },
    })
  })

  it('refuses an unsigned token (alg: none)', () => {
    const token = `${b64({ ...header, alg: 'none' })}.${b64(valid())}.`
    expect(() => tenancy.auth.verifyAccessToken(token)).toThrow(TokenInvalidError)
  })

  it('refuses a token signed with another algorithm, even with the right secret', () => {
    const token = jwt.sign(valid(), TEST_SECRET, { algorithm: 'HS512', header: { ...header, alg: 'HS512' } })
    expect(() => tenancy.auth.verifyAccessToken(token)).toThrow(TokenInvalidError)
  })

  it('refuses a token signed with another secret', () => {
    expect(() =>
      tenancy.auth.verifyAccessToken(hs256(header, valid(), 'another-secret-another-secret-another!')),
    ).toThrow(TokenInvalidError)
  })

  it('refuses a token whose payload was changed after signing', () => {
    const [encodedHeader, , signature] = hs256(header, valid()).split('.')
    expect(() =>
      tenancy.auth.verifyAccessToken(`${encodedHeader}.${b64({ ...valid(), ver: 1 })}.${signature}`),
    ).toThrow(TokenInvalidError)
  })

  it('refuses an expired token with its own code', () => {
    expect(() => tenancy.auth.verifyAccessToken(hs256(header, { ...valid(), exp: now() - 1 }))).toThrow(
      TokenExpiredError,
    )
  })

  it('keeps why a token was refused as the error’s cause, for the host’s logs', () => {
    const causeOf = (token: string) => {
      try {
        tenancy.auth.verifyAccessToken(token)
      } catch (err) {
        return { message: (err as Error).message, cause: (err as Error).cause }
      }
      throw new Error('the token was accepted')
    }
    expect(causeOf(hs256(header, { ...valid(), exp: now() - 1 })).cause).toBeInstanceOf(jwt.TokenExpiredError)
    expect(causeOf(hs256(header, { ...valid(), iss: 'elsewhere' }))).toEqual({
      message: 'the access token is not valid',
      cause: expect.any(jwt.JsonWebTokenError),
    })
    expect(causeOf(hs256(header, { ...valid(), ver: -1 }))).toEqual({
      message: 'the access token lacks required claims',
      cause: expect.objectContaining({ issues: expect.any(Array) }),
    })
  })

  it('refuses a token without an expiry', () => {
    const { exp: _exp, ...noExpiry } = valid()
    expect(() => tenancy.auth.verifyAccessToken(hs256(header, noExpiry))).toThrow(TokenInvalidError)
  })

  it('refuses a token that is not valid yet', () => {
    expect(() => tenancy.auth.verifyAccessToken(hs256(header, { ...valid(), nbf: now() + 600 }))).toThrow(
      TokenInvalidError,
    )
  })

  it('refuses a token for another issuer or audience, or with neither', () => {
    const { iss: _iss, aud: _aud, ...bare } = valid()
    for (const payload of [{ ...valid(), iss: 'someone-else' }, { ...valid(), aud: 'another-app' }, bare]) {
      expect(() => tenancy.auth.verifyAccessToken(hs256(header, payload))).toThrow(TokenInvalidError)
    }
  })

  it('refuses a well-signed token without the tenant claims', () => {
    const { org: _org, ...noOrg } = valid()
    expect(() => tenancy.auth.verifyAccessToken(hs256(header, noOrg))).toThrow(TokenInvalidError)
    expect(() => tenancy.auth.verifyAccessToken(hs256(header, { ...valid(), ver: '0' }))).toThrow(TokenInvalidError)
  })

  it('refuses a well-signed token that pairs an admin with another organization', async () => {
    const other = await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    await expect(
      tenancy.authenticate(hs256(header, { ...valid(), org: other.organization.id })),
    ).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('stores bcrypt hashes at the configured cost, never the password', async () => {
    const hash = await tenancy.auth.hashPassword(PASSWORD)
    expect(hash).toMatch(/^\$2b\$04\$/)
    const defaults = createTenancy({ auth: { secret: TEST_SECRET } })
    expect(await defaults.auth.hashPassword(PASSWORD)).toMatch(/^\$2b\$10\$/)
  })

  it('refuses a login whose password only matches because bcrypt would truncate it', async () => {
    const exact = 'p'.repeat(72)
    await tenancy.orgs.create({ name: 'Long', email: 'long@x.test', password: exact })
    await expect(tenancy.auth.login({ email: 'long@x.test', password: exact })).resolves.toMatchObject({
      tokenType: 'Bearer',
    })
    await expect(tenancy.auth.login({ email: 'long@x.test', password: `${exact}and more` })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(
      tenancy.auth.login({ email: 'a@acme.test', password: `${PASSWORD}\u0000suffix` }),
    ).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' })
  })

  it('raises a stored hash to the configured cost on the next successful login', async () => {
    const store = memoryStore()
    const cheap = createTenancy({ store, auth: { ...TEST_AUTH, bcryptCost: 4 } })
    const { owner } = await cheap.orgs.create({ name: 'Legacy', email: 'l@legacy.test', password: PASSWORD })
    const admin = { id: owner.accountId }
    const stronger = createTenancy({ store, auth: { ...TEST_AUTH, bcryptCost: 5 } })
    await expect(stronger.auth.login({ email: 'l@legacy.test', password: 'wrong password' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    expect((await store.records.accounts.find({ id: admin.id }))!.passwordHash).toMatch(/^\$2b\$04\$/)
    const { accessToken } = await stronger.auth.login({ email: 'l@legacy.test', password: PASSWORD })
    expect((await store.records.accounts.find({ id: admin.id }))!.passwordHash).toMatch(/^\$2b\$05\$/)
    // Not a credential change: earlier tokens and the password keep working.
    await expect(stronger.authenticate(accessToken)).resolves.toMatchObject({ name: 'Legacy' })
    await expect(cheap.auth.login({ email: 'l@legacy.test', password: PASSWORD })).resolves.toMatchObject({
      tokenType: 'Bearer',
    })
    // A hash already at (or above) the configured cost is left as it is: never lowered, never redone.
    const upgraded = (await store.records.accounts.find({ id: admin.id }))!.passwordHash
    await stronger.auth.login({ email: 'l@legacy.test', password: PASSWORD })
    expect((await store.records.accounts.find({ id: admin.id }))!.passwordHash).toBe(upgraded)
  })

  it('never writes an upgraded hash over a password change that landed while it was hashing', async () => {
    const base = memoryStore()
    let changePasswordNow: (() => Promise<void>) | undefined
    // The upgrade's write is held until the admin's password has been changed through another path.
    const accounts = base.records.accounts
    const store = {
      ...base,
      records: {
        ...base.records,
        accounts: {
          ...accounts,
          async update(...args: Parameters<typeof accounts.update>) {
            const change = changePasswordNow
            changePasswordNow = undefined
            if (change && Object.keys(args[1]).join() === 'passwordHash') await change()
            return accounts.update(...args)
          },
        },
      },
    }
    const cheap = createTenancy({ store, auth: { ...TEST_AUTH, bcryptCost: 4 } })
    await cheap.orgs.create({ name: 'Legacy', email: 'l@legacy.test', password: PASSWORD })
    const stronger = createTenancy({ store, auth: { ...TEST_AUTH, bcryptCost: 5 } })
    const admin = await cheap.authenticate(
      (await cheap.auth.login({ email: 'l@legacy.test', password: PASSWORD })).accessToken,
    )
    changePasswordNow = async () => void (await cheap.orgs.update(admin, { password: 'the new passphrase' }))
    await stronger.auth.login({ email: 'l@legacy.test', password: PASSWORD })
    expect(changePasswordNow).toBeUndefined()
    // The old password stays dead; the new one works.
    await expect(stronger.auth.login({ email: 'l@legacy.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    await expect(
      stronger.auth.login({ email: 'l@legacy.test', password: 'the new passphrase' }),
    ).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('refuses to hash a password bcrypt would truncate', async () => {
    await expect(tenancy.auth.hashPassword('a'.repeat(73))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('issues tokens that live as long as configured', async () => {
    const short = createTenancy({ auth: { ...TEST_AUTH, expiresIn: 90 } })
    await short.orgs.create({ name: 'Short', email: 's@x.test', password: PASSWORD })
    const token = await short.auth.login({ email: 's@x.test', password: PASSWORD })
    const payload = jwt.decode(token.accessToken) as { exp: number; iat: number }
    expect(token.expiresIn).toBe(90)
    expect(payload.exp - payload.iat).toBe(90)
  })

  it('answers a login flood beyond the hashing queue with 429 at once, and serves the queued ones', async () => {
    const small = createTenancy({ auth: { ...TEST_AUTH, maxConcurrentHashes: 1, maxQueuedHashes: 2 } })
    await small.orgs.create({ name: 'Flood', email: 'f@flood.test', password: PASSWORD })
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => small.auth.login({ email: 'f@flood.test', password: PASSWORD })),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3)
    const refused = results
      .filter((result): result is PromiseRejectedResult => result.status === 'rejected')
      .map((result) => result.reason)
    expect(refused).toHaveLength(7)
    for (const err of refused) expect(err).toBeInstanceOf(TooManyRequestsError)
    expect(refused[0].message).toBe('too many password operations are queued; retry shortly')
    const problem = toProblem(refused[0])!
    expect(problem.status).toBe(429)
    expect(problem.headers['retry-after']).toBe('1')
    // Once the flood has drained, logins work again.
    await expect(small.auth.login({ email: 'f@flood.test', password: PASSWORD })).resolves.toMatchObject({
      tokenType: 'Bearer',
    })
  })

  it('makes an unknown email wait its turn for bcrypt like any login, since it is checked against a dummy hash', async () => {
    const one = createTenancy({ auth: { ...TEST_AUTH, maxConcurrentHashes: 1, maxQueuedHashes: 0 } })
    await one.orgs.create({ name: 'Solo', email: 's@solo.test', password: PASSWORD })
    // Warm the dummy hash, then let a real login hold the only bcrypt slot.
    await expect(one.auth.login({ email: 'ghost@solo.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    const [known, unknown] = await Promise.allSettled([
      one.auth.login({ email: 's@solo.test', password: PASSWORD }),
      one.auth.login({ email: 'ghost@solo.test', password: PASSWORD }),
    ])
    expect(known.status).toBe('fulfilled')
    expect(unknown).toMatchObject({ status: 'rejected', reason: { code: 'TOO_MANY_REQUESTS' } })
  })

  describe('options', () => {
    // Each bad option is refused when the tenancy is created, saying which option and why.
    const bad: [string, object, string][] = [
      ['no secret', {}, 'tenantry: auth needs a signing secret'],
      ['a secret shorter than 32 bytes', { secret: 'too-short' }, 'auth.secret must be at least 32 bytes'],
      ['a 31-byte secret', { secret: 'x'.repeat(31) }, 'this one has 31'],
      ['a 31-byte Uint8Array secret', { secret: new Uint8Array(31) }, 'this one has 31'],
      ['a secret that is not a string or bytes', { secret: 42 }, 'auth.secret must be a string or a Uint8Array'],
      [
        'a bcrypt cost below 4',
        { secret: TEST_SECRET, bcryptCost: 3 },
        'auth.bcryptCost must be a whole number from 4 to 31',
      ],
      [
        'a bcrypt cost above 31',
        { secret: TEST_SECRET, bcryptCost: 32 },
        'auth.bcryptCost must be a whole number from 4 to 31',
      ],
      [
        'a fractional bcrypt cost',
        { secret: TEST_SECRET, bcryptCost: 10.5 },
        'auth.bcryptCost must be a whole number from 4 to 31',
      ],
      [
        'a lifetime of zero',
        { secret: TEST_SECRET, expiresIn: 0 },
        'auth.expiresIn must be a positive whole number of seconds',
      ],
      [
        'a fractional lifetime',
        { secret: TEST_SECRET, expiresIn: 1.5 },
        'auth.expiresIn must be a positive whole number of seconds',
      ],
      [
        'a refresh idle time of zero',
        { secret: TEST_SECRET, refreshIdleSeconds: 0 },
        'auth.refreshIdleSeconds must be a positive whole number of seconds',
      ],
      [
        'a fractional refresh idle time',
        { secret: TEST_SECRET, refreshIdleSeconds: 0.5 },
        'auth.refreshIdleSeconds must be a positive whole number of seconds',
      ],
      [
        'a session lifetime of zero',
        { secret: TEST_SECRET, sessionLifetimeSeconds: 0 },
        'auth.sessionLifetimeSeconds must be a positive whole number of seconds',
      ],
      ['an empty issuer', { secret: TEST_SECRET, issuer: '' }, 'auth.issuer must be a non-empty string'],
      ['an issuer that is not a string', { secret: TEST_SECRET, issuer: 7 }, 'auth.issuer must be a non-empty string'],
      ['an empty audience', { secret: TEST_SECRET, audience: '' }, 'auth.audience must be a non-empty string'],
      [
        'an audience that is not a string',
        { secret: TEST_SECRET, audience: ['a'] },
        'auth.audience must be a non-empty string',
      ],
      ['an empty client id', { secret: TEST_SECRET, clientId: '' }, 'auth.clientId must be a non-empty string'],
      [
        'a client id that is not a string',
        { secret: TEST_SECRET, clientId: 1 },
        'auth.clientId must be a non-empty string',
      ],
      [
        'no hashing concurrency',
        { secret: TEST_SECRET, maxConcurrentHashes: 0 },
        'auth.maxConcurrentHashes must be a whole number, 1 or more',
      ],
      [
        'a fractional hashing concurrency',
        { secret: TEST_SECRET, maxConcurrentHashes: 1.5 },
        'auth.maxConcurrentHashes must be a whole number, 1 or more',
      ],
      [
        'a negative hashing queue',
        { secret: TEST_SECRET, maxQueuedHashes: -1 },
        'auth.maxQueuedHashes must be a whole number, 0 or more',
      ],
      [
        'a fractional hashing queue',
        { secret: TEST_SECRET, maxQueuedHashes: 0.5 },
        'auth.maxQueuedHashes must be a whole number, 0 or more',
      ],
    ]
    for (const [label, auth, message] of bad) {
      it(`refuses ${label} at start-up with a TypeError that says so`, () => {
        expect(() => createTenancy({ auth: auth as never })).toThrow(TypeError)
        expect(() => createTenancy({ auth: auth as never })).toThrow(message)
      })
    }

    it('accepts every option at the edge of its range', () => {
      const edges: object[] = [
        { secret: 'x'.repeat(32) },
        { secret: new Uint8Array(32) },
        { secret: TEST_SECRET, bcryptCost: 4 },
        { secret: TEST_SECRET, bcryptCost: 31 },
        { secret: TEST_SECRET, expiresIn: 1, refreshIdleSeconds: 1, sessionLifetimeSeconds: 1 },
        { secret: TEST_SECRET, maxConcurrentHashes: 1, maxQueuedHashes: 0 },
      ]
      for (const auth of edges) expect(() => createTenancy({ auth: auth as never })).not.toThrow()
    })

    it('says what is wrong with the secret, in the terms the user wrote it', () => {
      expect(() => createTenancy({ auth: {} })).toThrow(
        /auth needs a signing secret: auth.secret, at least 32 random bytes/,
      )
      expect(() => createTenancy({ auth: { secret: TEST_SECRET, keys: [] } })).toThrow(/not both/)
      expect(() => createTenancy({ auth: { secret: 'too-short' } })).toThrow(
        'tenantry: auth.secret must be at least 32 bytes for HS256 (RFC 7518 §3.2); this one has 9',
      )
      expect(() => createTenancy({ auth: { secret: 'too-short' } })).not.toThrow(/hs-/)
    })

    it('refuses a tenancy without auth options at start-up', () => {
      expect(() => createTenancy({} as never)).toThrow(TypeError)
    })
  })
})
