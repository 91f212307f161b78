import { createHash } from 'node:crypto'
import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { TooManyRequestsError } from '../errors.js'
import { clientKey } from './client-key.js'

/**
 * How many login attempts are allowed, as rate-limiter-flexible limiters. The defaults keep
 * counts in this process's memory; apps with several instances share them through Redis
 * (`redisLoginLimits` from `tenantry/redis`). `false` turns one off.
 *
 * A client address that signed in to an account is *familiar* to it for a while: its attempts
 * at that account count only against a budget of their own (`perAccount`'s points, for that
 * account from that address), so a flood of wrong passwords from elsewhere never locks the
 * account's owner out of the addresses they use. Every other attempt counts per account, per
 * client and globally.
 */
export interface LoginLimits {
  /**
   * Default: 10 attempts per 15 minutes per email from unfamiliar addresses (reset by a successful
   * login only when `familiar` is off).
   */
  perAccount?: RateLimiterAbstract | false
  /** Default: 100 attempts per 15 minutes per client address (IPv6: per `ipv6Prefix`). */
  perClient?: RateLimiterAbstract | false
  /**
   * Failed (or unfinished) attempts from unfamiliar addresses across all accounts: what bounds a
   * botnet spreading guesses over many accounts and addresses. A success gives its point back.
   * Default: 1,000 per minute; `false` with `perAccount: false`.
   */
  global?: RateLimiterAbstract | false
  /**
   * Where familiar (account, address) pairs are remembered, for the limiter's `duration` from
   * their last successful login. Default: 14 days in memory; `false` with `perAccount: false`.
   */
  familiar?: RateLimiterAbstract | false
  /** IPv6 addresses are counted by this many leading bits. Default 64 (one subnet); 128 counts each address. */
  ipv6Prefix?: number
}

export const DEFAULT_LOGIN_LIMITS = {
  perAccount: { points: 10, duration: 15 * 60 },
  perClient: { points: 100, duration: 15 * 60 },
  global: { points: 1000, duration: 60 },
  familiar: { points: 1, duration: 14 * 24 * 3600 },
} as const

type Limiter = RateLimiterAbstract | undefined

/** Counts login attempts before any hashing happens, so a flood costs a counter, not a bcrypt run. */
export class LoginThrottle {
  readonly #perAccount: Limiter
  readonly #perClient: Limiter
  readonly #global: Limiter
  readonly #familiar: Limiter
  readonly #ipv6Prefix: number
  readonly #familiarSeconds: number
  readonly #refusal: string

  constructor(limits: LoginLimits = {}, refusal = 'too many login attempts; retry later') {
    this.#refusal = refusal
    const {
      perAccount = new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.perAccount),
      perClient = new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.perClient),
      ipv6Prefix = 64,
    } = limits
    // Both are about accounts: a throttle counting no accounts (sign-ups) has neither.
    const {
      global = perAccount && new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.global),
      familiar = perAccount && new RateLimiterMemory(DEFAULT_LOGIN_LIMITS.familiar),
    } = limits
    for (const limiter of [perAccount, perClient, global, familiar]) {
      if (limiter !== false && typeof (limiter as RateLimiterAbstract)?.consume !== 'function') {
        throw new TypeError('tenantry: auth.loginLimits takes rate-limiter-flexible limiters or false')
      }
    }
    if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128)
      throw new TypeError('tenantry: auth.loginLimits.ipv6Prefix must be a whole number from 1 to 128')
    this.#perAccount = perAccount || undefined
    this.#perClient = perClient || undefined
    this.#global = global || undefined
    this.#familiar = familiar || undefined
    this.#ipv6Prefix = ipv6Prefix
    this.#familiarSeconds = familiar ? familiar.duration : 0
  }

  /** Counts one attempt; throws `TooManyRequestsError` (with Retry-After) when a limit is spent. */
  async attempt(email: string, clientAddress: string | undefined): Promise<void> {
    const account = accountKey(email)
    const client = clientAddress === undefined ? undefined : clientKey(clientAddress, this.#ipv6Prefix)
    try {
      if (await this.#isFamiliar(account, client)) {
        await this.#perAccount?.consume(`${account}:${client}`)
        return
      }
      await Promise.all([
        this.#perAccount?.consume(account),
        client === undefined ? undefined : this.#perClient?.consume(client),
        this.#global?.consume('all'),
      ])
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err
      throw new TooManyRequestsError(this.#refusal, Math.max(1, Math.ceil(err.msBeforeNext / 1000)))
    }
  }

  /**
   * A successful login makes its client address familiar to the account, so its owner is never
   * locked out of it. Without familiar addresses it clears the account's count instead (which
   * hands a flood running beside the owner a fresh budget at each of their sign-ins).
   */
  async succeeded(email: string, clientAddress?: string): Promise<void> {
    const account = accountKey(email)
    const client = clientAddress === undefined ? undefined : clientKey(clientAddress, this.#ipv6Prefix)
    if (!this.#familiar || client === undefined) await this.#perAccount?.delete(account)
    if (client === undefined) return
    // Only an attempt that counted globally gives its point back.
    if (!(await this.#isFamiliar(account, client))) await this.#global?.reward('all')
    await this.#perAccount?.delete(`${account}:${client}`)
    await this.#familiar?.set(`${account}:${client}`, 1, this.#familiarSeconds)
  }

  async #isFamiliar(account: string, client: string | undefined): Promise<boolean> {
    if (client === undefined || !this.#familiar) return false
    return (await this.#familiar.get(`${account}:${client}`)) !== null
  }
}

// Hashed so a shared store (Redis) holds no email addresses and no key can be shaped by input.
function accountKey(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')
}
