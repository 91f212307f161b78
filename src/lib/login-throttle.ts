import { createHash } from 'node:crypto'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { TooManyRequestsError } from '../errors.js'

/**
 * How many login attempts are allowed, per account (email) and per client address, as
 * rate-limiter-flexible limiters. The defaults keep counts in this process's memory; apps with
 * several instances share them through Redis (`redisLoginLimits` from `tenantry/redis`).
 * `false` turns one off.
 */
export interface LoginLimits {
  /** Default: 10 attempts per 15 minutes per email, reset by a successful login. */
  perAccount?: RateLimiterAbstract | false
  /** Default: 100 attempts per 15 minutes per client address. */
  perClient?: RateLimiterAbstract | false
}

export const DEFAULT_LOGIN_LIMITS = {
  perAccount: { points: 10, duration: 15 * 60 },
  perClient: { points: 100, duration: 15 * 60 },
} as const

/** Counts login attempts before any hashing happens, so a flood costs a counter, not a bcrypt run. */
export class LoginThrottle {
  readonly #perAccount: RateLimiterAbstract | undefined
  readonly #perClient: RateLimiterAbstract | undefined

  readonly #refusal: string

  constructor(limits: LoginLimits = {}, refusal = 'too many login attempts; retry later') {
    this.#refusal = refusal
    const {
      perAccount = new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.perAccount),
      perClient = new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.perClient),
    } = limits
    for (const limiter of [perAccount, perClient]) {
      if (limiter !== false && typeof (limiter as RateLimiterAbstract)?.consume !== 'function') {
        throw new TypeError('tenantry: auth.loginLimits takes rate-limiter-flexible limiters or false')
      }
    }
    this.#perAccount = perAccount || undefined
    this.#perClient = perClient || undefined
  }

  /** Counts one attempt; throws `TooManyRequestsError` (with Retry-After) when a limit is spent. */
  async attempt(email: string, clientAddress: string | undefined): Promise<void> {
    try {
      await Promise.all([
        this.#perAccount?.consume(accountKey(email)),
        clientAddress === undefined ? undefined : this.#perClient?.consume(clientAddress),
      ])
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err
      throw new TooManyRequestsError(this.#refusal, Math.max(1, Math.ceil(err.msBeforeNext / 1000)))
    }
  }

  /** A successful login clears its account's count, so an owner never locks themselves out. */
  async succeeded(email: string): Promise<void> {
    await this.#perAccount?.delete(accountKey(email))
  }
}

// Hashed so a shared store (Redis) holds no email addresses and no key can be shaped by input.
function accountKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')
}
