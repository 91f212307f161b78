import type { SessionLimits } from './session-throttle.js'
import { availableParallelism } from 'node:os'
import type { SigningKey } from '../lib/keyring.js'
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { LoginLimits } from '../lib/login-throttle.js'

/** How members sign in with tenantry's own passwords and tokens. Checked when the tenancy is created, not on the first request. */
export interface AuthOptions {
  /**
   * Shorthand for one HS256 key: at least 32 bytes (RFC 7518 §3.2). Keep it out of source
   * control. Give either this or `keys`.
   */
  secret?: string | Uint8Array
  /** Several keys (HS256 or ES256), for rotation or for tokens other services verify with a public key. */
  keys?: SigningKey[]
  /** The kid of the key that signs new tokens. Default: the first of `keys`. */
  signingKeyId?: string
  /** `iss` claim, set on sign and required on verify. Default `'tenantry'`. */
  issuer?: string
  /** `aud` claim, set on sign and required on verify. Default `'tenantry'`. */
  audience?: string
  /** `client_id` claim (RFC 9068 §2.2): the client the tokens are issued to. Default `'tenantry'`. */
  clientId?: string
  /** Access token lifetime in seconds. Default 900 (15 minutes): refresh tokens renew them. */
  expiresIn?: number
  /** A refresh token must be used within this many seconds or it lapses. Default 7 days. */
  refreshIdleSeconds?: number
  /** No refresh extends a session past this many seconds after login. Default 30 days. */
  sessionLifetimeSeconds?: number
  /** bcrypt cost factor (4 to 31). Default 10. */
  bcryptCost?: number
  /**
   * Most bcrypt operations (hash or compare) running at once. Default: one fewer than the
   * CPU cores (at least 1), so a login flood always leaves a core for the event loop's work.
   */
  maxConcurrentHashes?: number
  /**
   * Most bcrypt operations waiting for a slot; beyond that a login, create or password change
   * gets 429 with Retry-After at once instead of queueing without bound. Default 64.
   */
  maxQueuedHashes?: number
  /** Login attempts allowed per account and per client address before 429. */
  loginLimits?: LoginLimits
  /** Refreshes and switches per session and per account, and live sessions per account. */
  sessionLimits?: SessionLimits
  /**
   * Organizations and accounts one client address may create (`POST /org/create`), a
   * rate-limiter-flexible limiter or `false`. Default: 20 per 15 minutes, counted apart from logins.
   */
  signUpLimit?: RateLimiterAbstract | false
}

/** The options with every default applied. */
export type ParsedAuthOptions = Required<
  Omit<AuthOptions, 'secret' | 'keys' | 'signingKeyId' | 'loginLimits' | 'sessionLimits' | 'signUpLimit'>
> &
  Pick<AuthOptions, 'secret' | 'keys' | 'signingKeyId' | 'loginLimits' | 'sessionLimits'> & {
    signUpLimit: RateLimiterAbstract | false
  }

/** Checks the options when the tenancy is created: a `TypeError` for each mistake, never a failing first request. */
export function parseAuthOptions(options: AuthOptions): ParsedAuthOptions {
  const {
    secret,
    keys,
    signingKeyId,
    issuer = 'tenantry',
    audience = 'tenantry',
    clientId = 'tenantry',
    expiresIn = 900,
    refreshIdleSeconds = 7 * 24 * 3600,
    sessionLifetimeSeconds = 30 * 24 * 3600,
    bcryptCost = 10,
    maxConcurrentHashes = Math.max(1, availableParallelism() - 1),
    maxQueuedHashes = 64,
    loginLimits,
    sessionLimits,
    signUpLimit = new RateLimiterMemory({ points: 20, duration: 15 * 60 }),
  } = options ?? ({} as AuthOptions)
  if (secret === undefined && keys === undefined) {
    throw new TypeError(
      'tenantry: auth needs a signing secret: auth.secret, at least 32 random bytes (say process.env.JWT_SECRET from `openssl rand -base64 32`), or auth.keys for several or ES256 keys',
    )
  }
  if (secret !== undefined && keys !== undefined)
    throw new TypeError(
      'tenantry: give auth.secret or auth.keys, not both (put the secret in keys as an HS256 key to rotate it)',
    )
  if (secret !== undefined && typeof secret !== 'string' && !(secret instanceof Uint8Array))
    throw new TypeError('tenantry: auth.secret must be a string or a Uint8Array')
  // Checked here, by its own name: the key the shorthand makes has a kid the user never chose.
  const secretBytes = typeof secret === 'string' ? Buffer.byteLength(secret) : secret?.byteLength
  // Stryker disable next-line ConditionalExpression: keys given: undefined < 32 is false
  if (secretBytes !== undefined && secretBytes < 32)
    throw new TypeError(
      `tenantry: auth.secret must be at least 32 bytes for HS256 (RFC 7518 §3.2); this one has ${secretBytes}`,
    )
  if (typeof issuer !== 'string' || issuer === '')
    throw new TypeError('tenantry: auth.issuer must be a non-empty string')
  if (typeof audience !== 'string' || audience === '')
    throw new TypeError('tenantry: auth.audience must be a non-empty string')
  if (typeof clientId !== 'string' || clientId === '')
    throw new TypeError('tenantry: auth.clientId must be a non-empty string')
  if (!Number.isInteger(expiresIn) || expiresIn <= 0)
    throw new TypeError('tenantry: auth.expiresIn must be a positive whole number of seconds')
  for (const [name, value] of Object.entries({ refreshIdleSeconds, sessionLifetimeSeconds })) {
    if (!Number.isInteger(value) || value <= 0)
      throw new TypeError(`tenantry: auth.${name} must be a positive whole number of seconds`)
  }
  if (!Number.isInteger(bcryptCost) || bcryptCost < 4 || bcryptCost > 31)
    throw new TypeError('tenantry: auth.bcryptCost must be a whole number from 4 to 31')
  if (!Number.isInteger(maxConcurrentHashes) || maxConcurrentHashes < 1)
    throw new TypeError('tenantry: auth.maxConcurrentHashes must be a whole number, 1 or more')
  if (!Number.isInteger(maxQueuedHashes) || maxQueuedHashes < 0)
    throw new TypeError('tenantry: auth.maxQueuedHashes must be a whole number, 0 or more')
  return {
    secret,
    keys,
    signingKeyId,
    issuer,
    audience,
    clientId,
    expiresIn,
    refreshIdleSeconds,
    sessionLifetimeSeconds,
    bcryptCost,
    maxConcurrentHashes,
    maxQueuedHashes,
    loginLimits,
    sessionLimits,
    signUpLimit,
  }
}
