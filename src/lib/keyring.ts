import { createHash, createPrivateKey, createPublicKey, createSecretKey, KeyObject, randomUUID } from 'node:crypto'
import jwt from 'jsonwebtoken'
import { TokenInvalidError } from '../errors.js'

/**
 * A JSON Web Key (RFC 7517), as tenantry takes and publishes them. Its own type rather than
 * `node:crypto`'s `JsonWebKey`, which some `@types/node` versions do not export.
 */
export interface Jwk {
  kty: string
  crv?: string
  x?: string
  y?: string
  d?: string
  kid?: string
  alg?: string
  use?: string
  [member: string]: unknown
}

/** A key that signs or verifies access tokens. Tokens name it in their `kid` header. */
export type SigningKey =
  | { kid: string; algorithm: 'HS256'; secret: string | Uint8Array }
  | {
      kid: string
      algorithm: 'ES256'
      /** PEM, JWK or KeyObject of a P-256 private key. Leave it out for a key that only verifies. */
      privateKey?: string | Jwk | KeyObject
      /** Derived from `privateKey` when left out. */
      publicKey?: string | Jwk | KeyObject
    }

interface LoadedKey {
  kid: string
  algorithm: 'HS256' | 'ES256'
  signWith?: KeyObject
  verifyWith: KeyObject
}

const MIN_SECRET_BYTES = 32
// Refresh tokens are opaque `rt_…` strings (src/lib/refresh-token.ts), never JWTs.
const REFRESH_TOKEN_PREFIX = 'rt_'
// RFC 9068: access tokens say so in their header, so no other JWT signed with these keys (an ID
// token, another service's token) can stand in for one.
const ACCESS_TOKEN_TYPE = 'at+jwt'

/**
 * The keys tokens are signed and verified with. It signs with one key and verifies with any of
 * them, chosen by the token's `kid` among the configured keys only: the token's header never
 * supplies a key, and each key verifies with its own algorithm only, so an HS256 token
 * "signed" with an ES256 public key is refused. Keys rotate by adding the new one, signing with
 * it, and dropping the old one once its tokens have expired.
 */
export class Keyring {
  readonly #keys = new Map<string, LoadedKey>()
  readonly #signing: LoadedKey

  constructor(keys: SigningKey[], signingKeyId: string | undefined) {
    if (!Array.isArray(keys) || keys.length === 0) throw new TypeError('tenantry: auth.keys must list at least one key')
    for (const key of keys) {
      if (typeof key?.kid !== 'string' || key.kid === '')
        throw new TypeError('tenantry: every key needs a non-empty kid')
      if (this.#keys.has(key.kid)) throw new TypeError(`tenantry: two keys share the kid "${key.kid}"`)
      this.#keys.set(key.kid, load(key))
    }
    const signing = this.#keys.get(signingKeyId ?? keys[0]!.kid)
    if (!signing) throw new TypeError(`tenantry: auth.signingKeyId "${signingKeyId}" is not one of auth.keys`)
    if (!signing.signWith) throw new TypeError(`tenantry: the signing key "${signing.kid}" has no private key`)
    this.#signing = signing
  }

  /** A kid for the one-secret shorthand: stable across restarts, and new when the secret changes. */
  static kidForSecret(secret: string | Uint8Array): string {
    // Stryker disable next-line MethodExpression,StringLiteral: any stable digest encoding would do
    return `hs-${createHash('sha256').update(secret).digest('base64url').slice(0, 12)}`
  }

  sign(payload: object, options: { subject: string; issuer: string; audience: string; expiresIn: number }): string {
    return jwt.sign(payload, this.#signing.signWith!, {
      ...options,
      // RFC 9068 §2.2: an at+jwt has a unique id (and `client_id`, which the caller puts in the payload).
      jwtid: randomUUID(),
      algorithm: this.#signing.algorithm,
      keyid: this.#signing.kid,
      header: { alg: this.#signing.algorithm, typ: ACCESS_TOKEN_TYPE },
    })
  }

  /** The verified payload; throws `TokenInvalidError`, or jsonwebtoken's errors for a bad signature or claims. */
  verify(token: string, options: { issuer: string; audience: string }): unknown {
    if (token.startsWith(REFRESH_TOKEN_PREFIX))
      throw new TokenInvalidError(
        'this is a refresh token; send it to POST /admin/refresh for an access token, and send the access token here',
      )
    const header = decodeHeader(token)
    // Stryker disable next-line ConditionalExpression,OptionalChaining: a non-string kid finds no key either way
    const key = typeof header?.kid === 'string' ? this.#keys.get(header.kid) : undefined
    if (!key) throw new TokenInvalidError('the access token is not signed with a trusted key')
    if (
      // Stryker disable next-line OptionalChaining: the header is an object here
      typeof header?.typ !== 'string' ||
      header.typ.toLowerCase().replace(/^application\//, '') !== ACCESS_TOKEN_TYPE
    ) {
      throw new TokenInvalidError('the token is not an access token')
    }
    return jwt.verify(token, key.verifyWith, {
      algorithms: [key.algorithm],
      issuer: options.issuer,
      audience: options.audience,
    })
  }

  /** The public keys of the asymmetric keys, as a JWK Set for services that verify tokens themselves. */
  jwks(): { keys: Jwk[] } {
    const keys: Jwk[] = []
    for (const key of this.#keys.values()) {
      if (key.algorithm === 'HS256') continue
      keys.push({ ...(key.verifyWith.export({ format: 'jwk' }) as Jwk), kid: key.kid, alg: key.algorithm, use: 'sig' })
    }
    return { keys }
  }
}

function load(key: SigningKey): LoadedKey {
  if (key.algorithm === 'HS256') {
    const bytes =
      typeof key.secret === 'string'
        ? Buffer.from(key.secret)
        : key.secret instanceof Uint8Array
          ? Buffer.from(key.secret)
          : undefined
    if (!bytes) throw new TypeError(`tenantry: the secret of key "${key.kid}" must be a string or a Uint8Array`)
    if (bytes.length < MIN_SECRET_BYTES)
      throw new TypeError(
        `tenantry: the secret of key "${key.kid}" must be at least ${MIN_SECRET_BYTES} bytes for HS256`,
      )
    const secret = createSecretKey(bytes)
    return { kid: key.kid, algorithm: 'HS256', signWith: secret, verifyWith: secret }
  }
  if (key.algorithm === 'ES256') {
    if (key.privateKey === undefined && key.publicKey === undefined)
      throw new TypeError(`tenantry: key "${key.kid}" needs a privateKey or a publicKey`)
    const privateKey = key.privateKey === undefined ? undefined : asKey(key.privateKey, 'private', key.kid)
    const publicKey =
      key.publicKey === undefined ? createPublicKey(privateKey!) : asKey(key.publicKey, 'public', key.kid)
    for (const candidate of [privateKey, publicKey]) {
      if (candidate && !isP256(candidate))
        throw new TypeError(`tenantry: key "${key.kid}" must be a P-256 key for ES256`)
    }
    return { kid: key.kid, algorithm: 'ES256', signWith: privateKey, verifyWith: publicKey }
  }
  throw new TypeError(
    `tenantry: key "${(key as { kid?: string }).kid}" has an unsupported algorithm; use HS256 or ES256`,
  )
}

function asKey(value: string | Jwk | KeyObject, type: 'private' | 'public', kid: string): KeyObject {
  try {
    if (value instanceof KeyObject) {
      if (value.type !== type) throw new Error(`a ${value.type} key was given`)
      return value
    }
    // Node checks the members itself; a malformed key is the error caught below.
    const input = typeof value === 'string' ? value : { key: value, format: 'jwk' }
    return type === 'private'
      ? createPrivateKey(input as Parameters<typeof createPrivateKey>[0])
      : createPublicKey(input as Parameters<typeof createPublicKey>[0])
  } catch (err) {
    throw new TypeError(`tenantry: the ${type} key of "${kid}" cannot be read: ${(err as Error).message}`)
  }
}

/** Only EC keys have a named curve, so this refuses RSA and Ed25519 keys as well as other curves. */
function isP256(key: KeyObject): boolean {
  // Stryker disable next-line OptionalChaining: every asymmetric key has details
  return key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
}

function decodeHeader(token: string): Record<string, unknown> | undefined {
  const dot = token.indexOf('.')
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the parse below fails the same way
  if (dot <= 0) return undefined
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
    // Stryker disable next-line ConditionalExpression,LogicalOperator: no object, no kid: the same refusal
    return typeof header === 'object' && header !== null ? (header as Record<string, unknown>) : undefined
  } catch {
    // Stryker disable next-line BlockStatement: an empty catch returns undefined all the same
    return undefined
  }
}
