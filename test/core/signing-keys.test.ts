import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, TokenInvalidError, type SigningKey } from 'tenantry'
import { PASSWORD, TEST_SECRET } from '../support/secret.js'

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const decode = (token: string) => token.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
const OLD: SigningKey = { kid: 'old', algorithm: 'HS256', secret: TEST_SECRET }
const NEW: SigningKey = { kid: 'new', algorithm: 'HS256', secret: 'another-secret-another-secret-another!' }

async function tokenFrom(keys: SigningKey[], signingKeyId?: string, store = memoryStore()) {
  const tenancy = createTenancy({ store, auth: { keys, signingKeyId, bcryptCost: 4 } })
  if (!(await store.findAccount({ email: 'a@acme.test' }))) await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  return { tenancy, store, token: (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken }
}

describe('signing keys', () => {
  it('names the signing key and the token type in the header', async () => {
    const { token } = await tokenFrom([OLD])
    expect(decode(token)[0]).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: 'old' })
  })

  it('gives every access token the claims RFC 9068 requires of an at+jwt: a unique jti and a client_id', async () => {
    const { tenancy, token } = await tokenFrom([OLD])
    const second = (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken
    const [first, other] = [decode(token)[1], decode(second)[1]]
    for (const claims of [first, other]) {
      expect(claims).toMatchObject({ iss: 'tenantry', aud: 'tenantry', client_id: 'tenantry', sub: expect.any(String), iat: expect.any(Number), exp: expect.any(Number) })
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(first.jti).not.toBe(other.jti)
    const custom = createTenancy({ auth: { keys: [OLD], clientId: 'my-app', bcryptCost: 4 } })
    await custom.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    expect(decode((await custom.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken)[1].client_id).toBe('my-app')
    expect(() => createTenancy({ auth: { keys: [OLD], clientId: '' } })).toThrow(TypeError)
  })

  it('rotates without logging anyone out: the new key signs, the old one still verifies until it is dropped', async () => {
    const before = await tokenFrom([OLD])
    const during = await tokenFrom([NEW, OLD], 'new', before.store)
    expect(decode(during.token)[0].kid).toBe('new')
    await expect(during.tenancy.registry.resolve(before.token)).resolves.toMatchObject({ name: 'Acme' })
    const after = createTenancy({ store: before.store, auth: { keys: [NEW] } })
    await expect(after.registry.resolve(before.token)).rejects.toBeInstanceOf(TokenInvalidError)
    await expect(after.registry.resolve(during.token)).resolves.toMatchObject({ name: 'Acme' })
  })

  it('signs with ES256 so another service can verify with the published public key alone', async () => {
    const { privateKey } = ec()
    const { tenancy, token } = await tokenFrom([{ kid: 'es', algorithm: 'ES256', privateKey }])
    const [jwk] = tenancy.auth.jwks().keys
    expect(jwk).toMatchObject({ kid: 'es', alg: 'ES256', kty: 'EC', crv: 'P-256', use: 'sig' })
    expect(jwk).not.toHaveProperty('d')
    const payload = jwt.verify(token, createPublicKey({ key: jwk!, format: 'jwk' }), { algorithms: ['ES256'] })
    expect(payload).toMatchObject({ iss: 'tenantry', aud: 'tenantry' })
    await expect(tenancy.registry.resolve(token)).resolves.toMatchObject({ name: 'Acme' })
  })

  it('publishes only public keys: never an HS256 secret, never a private part', async () => {
    const { privateKey } = ec()
    const { tenancy } = await tokenFrom([OLD, { kid: 'es', algorithm: 'ES256', privateKey }, NEW], 'es')
    const { keys } = tenancy.auth.jwks()
    expect(keys.map((key) => key.kid)).toEqual(['es'])
    for (const key of keys) {
      expect(key.kty).toBe('EC')
      for (const secret of ['k', 'd', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret)
    }
    expect(JSON.stringify(tenancy.auth.jwks())).not.toContain(Buffer.from(TEST_SECRET).toString('base64url'))
    expect(createTenancy({ auth: { keys: [OLD] } }).auth.jwks()).toEqual({ keys: [] })
  })

  it('refuses an HS256 token "signed" with the public key of an ES256 key', async () => {
    const { publicKey, privateKey } = ec()
    const { tenancy, token } = await tokenFrom([{ kid: 'es', algorithm: 'ES256', privateKey }])
    const [, payload] = decode(token)
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'es' })}.${b64(payload)}`
    for (const secret of [publicKey.export({ type: 'spki', format: 'pem' }), JSON.stringify(publicKey.export({ format: 'jwk' }))]) {
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
      expect(() => tenancy.auth.verifyAccessToken(forged)).toThrow(TokenInvalidError)
    }
  })

  it('refuses a token with no kid, an unknown kid, or a type other than an access token', async () => {
    const { tenancy, token } = await tokenFrom([OLD])
    const [, payload] = decode(token)
    const sign = (header: object) => jwt.sign(payload, TEST_SECRET, { algorithm: 'HS256', header: { alg: 'HS256', ...header } })
    for (const header of [{ typ: 'at+jwt' }, { typ: 'at+jwt', kid: 'nope' }, { kid: 'old' }, { typ: 'JWT', kid: 'old' }]) {
      expect(() => tenancy.auth.verifyAccessToken(sign(header))).toThrow(TokenInvalidError)
    }
    expect(() => tenancy.auth.verifyAccessToken(sign({ typ: 'application/at+jwt', kid: 'old' }))).not.toThrow()
  })

  describe('options', () => {
    const { privateKey, publicKey } = ec()
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    const bad: [string, object][] = [
      ['both a secret and keys', { secret: TEST_SECRET, keys: [OLD] }],
      ['no keys at all', { keys: [] }],
      ['two keys with one kid', { keys: [OLD, { ...NEW, kid: 'old' }] }],
      ['a signing key id that is not configured', { keys: [OLD], signingKeyId: 'missing' }],
      ['a verify-only key as the signing key', { keys: [{ kid: 'pub', algorithm: 'ES256', publicKey }] }],
      ['an ES256 key on another curve', { keys: [{ kid: 'p384', algorithm: 'ES256', privateKey: p384.privateKey }] }],
      ['a public key where the private key belongs', { keys: [{ kid: 'x', algorithm: 'ES256', privateKey: publicKey }] }],
      ['an unsupported algorithm', { keys: [{ kid: 'rs', algorithm: 'RS256', secret: TEST_SECRET }] }],
      ['a short HS256 secret in keys', { keys: [{ kid: 'short', algorithm: 'HS256', secret: 'short' }] }],
      ['an HS256 secret one byte short of 32', { keys: [{ kid: 'short', algorithm: 'HS256', secret: 'x'.repeat(31) }] }],
      ['an HS256 secret of 31 bytes as bytes', { keys: [{ kid: 'short', algorithm: 'HS256', secret: new Uint8Array(31) }] }],
      ['a key without a kid', { keys: [{ algorithm: 'HS256', secret: TEST_SECRET }] }],
      ['a key with an empty kid', { keys: [{ kid: '', algorithm: 'HS256', secret: TEST_SECRET }] }],
      ['keys that are not a list', { keys: OLD }],
      ['an ES256 key with neither a private nor a public key', { keys: [{ kid: 'es', algorithm: 'ES256' }] }],
      ['an ES256 public key on another curve', { keys: [{ kid: 'es', algorithm: 'ES256', privateKey }, { kid: 'p384', algorithm: 'ES256', publicKey: p384.publicKey }] }],
      ['an unreadable ES256 key', { keys: [{ kid: 'es', algorithm: 'ES256', privateKey: 'not a PEM' }] }],
      ['an RSA key for ES256', { keys: [{ kid: 'rsa', algorithm: 'ES256', privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }] }],
    ]
    for (const [label, auth] of bad) {
      it(`refuses ${label} at start-up with a TypeError`, () => {
        expect(() => createTenancy({ auth: auth as never })).toThrow(TypeError)
      })
    }

    it('accepts an HS256 secret of exactly 32 bytes, as a string or as bytes', () => {
      expect(() => createTenancy({ auth: { keys: [{ kid: 'exact', algorithm: 'HS256', secret: 'x'.repeat(32) }] } })).not.toThrow()
      expect(() => createTenancy({ auth: { keys: [{ kid: 'exact', algorithm: 'HS256', secret: new Uint8Array(32) }] } })).not.toThrow()
      expect(() => createTenancy({ auth: { secret: 'x'.repeat(32) } })).not.toThrow()
      expect(() => createTenancy({ auth: { secret: 'x'.repeat(31) } })).toThrow(TypeError)
    })

    it('accepts a verify-only public key beside a signing key, as PEM', () => {
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      expect(() => createTenancy({ auth: { keys: [{ kid: 'es', algorithm: 'ES256', privateKey }, { kid: 'other', algorithm: 'ES256', publicKey: pem }] } })).not.toThrow()
    })
  })
})
