import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type SigningKey, errors } from 'tenantry'
import { PASSWORD, TEST_SECRET } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { TokenInvalidError } = errors

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' })
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const decode = (token: string) =>
  token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
const OLD: SigningKey = { kid: 'old', algorithm: 'HS256', secret: TEST_SECRET }
const NEW: SigningKey = { kid: 'new', algorithm: 'HS256', secret: 'another-secret-another-secret-another!' }

async function tokenFrom(keys: SigningKey[], signingKeyId?: string, store = memoryStore()) {
  const tenancy = createTenancy({ store, auth: { keys, signingKeyId, bcryptCost: 4 } })
  if (!(await store.records.accounts.find({ email: 'a@acme.test' })))
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
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
      expect(claims).toMatchObject({
        iss: 'tenantry',
        aud: 'tenantry',
        client_id: 'tenantry',
        sub: expect.any(String),
        iat: expect.any(Number),
        exp: expect.any(Number),
      })
      expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/)
    }
    expect(first.jti).not.toBe(other.jti)
    const custom = createTenancy({ auth: { keys: [OLD], clientId: 'my-app', bcryptCost: 4 } })
    await custom.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    expect(
      decode((await custom.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken)[1].client_id,
    ).toBe('my-app')
    expect(() => createTenancy({ auth: { keys: [OLD], clientId: '' } })).toThrow(TypeError)
  })

  it('rotates without logging anyone out: the new key signs, the old one still verifies until it is dropped', async () => {
    const before = await tokenFrom([OLD])
    const during = await tokenFrom([NEW, OLD], 'new', before.store)
    expect(decode(during.token)[0].kid).toBe('new')
    await expect(during.tenancy.authenticate(before.token)).resolves.toMatchObject({ name: 'Acme' })
    const after = createTenancy({ store: before.store, auth: { keys: [NEW] } })
    await expect(after.authenticate(before.token)).rejects.toBeInstanceOf(TokenInvalidError)
    await expect(after.authenticate(during.token)).resolves.toMatchObject({ name: 'Acme' })
  })

  it('signs with ES256 so another service can verify with the published public key alone', async () => {
    const { privateKey } = ec()
    const { tenancy, token } = await tokenFrom([{ kid: 'es', algorithm: 'ES256', privateKey }])
    const [jwk] = tenancy.auth.jwks().keys
    expect(jwk).toMatchObject({ kid: 'es', alg: 'ES256', kty: 'EC', crv: 'P-256', use: 'sig' })
    expect(jwk).not.toHaveProperty('d')
    const payload = jwt.verify(token, createPublicKey({ key: jwk!, format: 'jwk' }), { algorithms: ['ES256'] })
    expect(payload).toMatchObject({ iss: 'tenantry', aud: 'tenantry' })
    await expect(tenancy.authenticate(token)).resolves.toMatchObject({ name: 'Acme' })
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
    for (const secret of [
      publicKey.export({ type: 'spki', format: 'pem' }),
      JSON.stringify(publicKey.export({ format: 'jwk' })),
    ]) {
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
      expect(() => tenancy.auth.verifyAccessToken(forged)).toThrow(TokenInvalidError)
    }
  })

  it('refuses a token with no kid, an unknown kid, or a type other than an access token', async () => {
    const { tenancy, token } = await tokenFrom([OLD])
    const [, payload] = decode(token)
    const sign = (header: object) =>
      jwt.sign(payload, TEST_SECRET, { algorithm: 'HS256', header: { alg: 'HS256', ...header } })
    const refusals: [object, string][] = [
      [{ typ: 'at+jwt' }, 'the access token is not signed with a trusted key'],
      [{ typ: 'at+jwt', kid: 'nope' }, 'the access token is not signed with a trusted key'],
      [{ typ: 'at+jwt', kid: 7 }, 'the access token is not signed with a trusted key'],
      [{ kid: 'old' }, 'the token is not an access token'],
      [{ kid: 'old', typ: undefined }, 'the token is not an access token'],
      [{ typ: 'JWT', kid: 'old' }, 'the token is not an access token'],
    ]
    for (const [header, detail] of refusals) {
      expect(() => tenancy.auth.verifyAccessToken(sign(header))).toThrow(TokenInvalidError)
      expect(() => tenancy.auth.verifyAccessToken(sign(header))).toThrow(detail)
    }
    // RFC 7515 §4.1.9: the media type may carry its application/ prefix, in any case.
    for (const typ of ['application/at+jwt', 'AT+JWT', 'Application/AT+JWT'])
      expect(() => tenancy.auth.verifyAccessToken(sign({ typ, kid: 'old' }))).not.toThrow()
    expect(() => tenancy.auth.verifyAccessToken(sign({ typ: 'at+application/jwt', kid: 'old' }))).toThrow(
      'the token is not an access token',
    )
  })

  describe('options', () => {
    const { privateKey, publicKey } = ec()
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    // Each refusal names what is wrong, so the developer who misconfigured it can fix it.
    const bad: [string, object, RegExp][] = [
      ['both a secret and keys', { secret: TEST_SECRET, keys: [OLD] }, /give auth\.secret or auth\.keys, not both/],
      ['no keys at all', { keys: [] }, /auth\.keys must list at least one key/],
      ['two keys with one kid', { keys: [OLD, { ...NEW, kid: 'old' }] }, /two keys share the kid "old"/],
      [
        'a signing key id that is not configured',
        { keys: [OLD], signingKeyId: 'missing' },
        /signingKeyId "missing" is not one of auth\.keys/,
      ],
      [
        'a verify-only key as the signing key',
        { keys: [{ kid: 'pub', algorithm: 'ES256', publicKey }] },
        /the signing key "pub" has no private key/,
      ],
      [
        'an ES256 key on another curve',
        { keys: [{ kid: 'p384', algorithm: 'ES256', privateKey: p384.privateKey }] },
        /key "p384" must be a P-256 key for ES256/,
      ],
      [
        'a public key where the private key belongs',
        { keys: [{ kid: 'x', algorithm: 'ES256', privateKey: publicKey }] },
        /the private key of "x" cannot be read: a public key was given/,
      ],
      [
        'an unsupported algorithm',
        { keys: [{ kid: 'rs', algorithm: 'RS256', secret: TEST_SECRET }] },
        /key "rs" has an unsupported algorithm; use HS256 or ES256/,
      ],
      [
        'a short HS256 secret in keys',
        { keys: [{ kid: 'short', algorithm: 'HS256', secret: 'short' }] },
        /the secret of key "short" must be at least 32 bytes for HS256/,
      ],
      [
        'an HS256 secret one byte short of 32',
        { keys: [{ kid: 'short', algorithm: 'HS256', secret: 'x'.repeat(31) }] },
        /the secret of key "short" must be at least 32 bytes/,
      ],
      [
        'an HS256 secret of 31 bytes as bytes',
        { keys: [{ kid: 'short', algorithm: 'HS256', secret: new Uint8Array(31) }] },
        /the secret of key "short" must be at least 32 bytes/,
      ],
      [
        'an HS256 secret that is neither a string nor bytes',
        { keys: [{ kid: 'num', algorithm: 'HS256', secret: 12345 }] },
        /the secret of key "num" must be a string or a Uint8Array/,
      ],
      [
        'a key without a kid',
        { keys: [{ algorithm: 'HS256', secret: TEST_SECRET }] },
        /every key needs a non-empty kid/,
      ],
      ['a key that is not an object', { keys: [null] }, /every key needs a non-empty kid/],
      [
        'a key with an empty kid',
        { keys: [{ kid: '', algorithm: 'HS256', secret: TEST_SECRET }] },
        /every key needs a non-empty kid/,
      ],
      ['keys that are not a list', { keys: OLD }, /auth\.keys must list at least one key/],
      [
        'an ES256 key with neither a private nor a public key',
        { keys: [{ kid: 'es', algorithm: 'ES256' }] },
        /key "es" needs a privateKey or a publicKey/,
      ],
      [
        'an ES256 public key on another curve',
        {
          keys: [
            { kid: 'es', algorithm: 'ES256', privateKey },
            { kid: 'p384', algorithm: 'ES256', publicKey: p384.publicKey },
          ],
        },
        /key "p384" must be a P-256 key for ES256/,
      ],
      [
        'an unreadable ES256 key',
        { keys: [{ kid: 'es', algorithm: 'ES256', privateKey: 'not a PEM' }] },
        /the private key of "es" cannot be read/,
      ],
      [
        'an unreadable ES256 public key',
        {
          keys: [
            { kid: 'es', algorithm: 'ES256', privateKey },
            { kid: 'pub', algorithm: 'ES256', publicKey: 'not a PEM' },
          ],
        },
        /the public key of "pub" cannot be read/,
      ],
      [
        'an RSA key for ES256',
        {
          keys: [
            {
              kid: 'rsa',
              algorithm: 'ES256',
              privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
            },
          ],
        },
        /key "rsa" must be a P-256 key for ES256/,
      ],
    ]
    for (const [label, auth, message] of bad) {
      it(`refuses ${label} at start-up with a TypeError that says what is wrong`, () => {
        expect(() => createTenancy({ auth: auth as never })).toThrow(TypeError)
        expect(() => createTenancy({ auth: auth as never })).toThrow(message)
      })
    }

    it('accepts an HS256 secret of exactly 32 bytes, as a string or as bytes', () => {
      expect(() =>
        createTenancy({ auth: { keys: [{ kid: 'exact', algorithm: 'HS256', secret: 'x'.repeat(32) }] } }),
      ).not.toThrow()
      expect(() =>
        createTenancy({ auth: { keys: [{ kid: 'exact', algorithm: 'HS256', secret: new Uint8Array(32) }] } }),
      ).not.toThrow()
      expect(() => createTenancy({ auth: { secret: 'x'.repeat(32) } })).not.toThrow()
      expect(() => createTenancy({ auth: { secret: 'x'.repeat(31) } })).toThrow(TypeError)
    })

    it('signs and verifies with an ES256 key given as PEM, as a JWK or as a KeyObject', async () => {
      const pair = ec()
      const forms: SigningKey[] = [
        {
          kid: 'pem',
          algorithm: 'ES256',
          privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        },
        { kid: 'jwk', algorithm: 'ES256', privateKey: pair.privateKey.export({ format: 'jwk' }) as never },
        { kid: 'object', algorithm: 'ES256', privateKey: pair.privateKey },
      ]
      for (const key of forms) {
        const { tenancy, token } = await tokenFrom([key])
        expect(decode(token)[0]).toMatchObject({ alg: 'ES256', kid: key.kid })
        expect(jwt.verify(token, pair.publicKey, { algorithms: ['ES256'] })).toMatchObject({ iss: 'tenantry' })
        await expect(tenancy.authenticate(token)).resolves.toMatchObject({ name: 'Acme' })
      }
    })

    it('verifies with a verify-only ES256 public key given as PEM, as a JWK or as a KeyObject', async () => {
      const pair = ec()
      const signer = await tokenFrom([{ kid: 'es', algorithm: 'ES256', privateKey: pair.privateKey }])
      const forms = [
        pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        pair.publicKey.export({ format: 'jwk' }) as never,
        pair.publicKey,
      ]
      for (const publicKey of forms) {
        const verifier = createTenancy({
          store: signer.store,
          auth: { keys: [OLD, { kid: 'es', algorithm: 'ES256', publicKey }], signingKeyId: 'old' },
        })
        await expect(verifier.authenticate(signer.token)).resolves.toMatchObject({ name: 'Acme' })
      }
    })

    it('accepts a verify-only public key beside a signing key, as PEM', () => {
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
      expect(() =>
        createTenancy({
          auth: {
            keys: [
              { kid: 'es', algorithm: 'ES256', privateKey },
              { kid: 'other', algorithm: 'ES256', publicKey: pem },
            ],
          },
        }),
      ).not.toThrow()
    })
  })
})
