import { RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { TooManyRequestsError } from '../errors.js'

/**
 * How much one member may grow the store: refreshes and organization switches counted per
 * session and per account (rate-limiter-flexible limiters, or `false`), and the live sessions an
 * account may hold at once (a new one ends the oldest past it).
 */
export interface SessionLimits {
  /** Default: 30 refreshes and switches per 15 minutes per session (a client refreshes once per token lifetime). */
  perSession?: RateLimiterAbstract | false
  /** Default: 300 per 15 minutes per account, over all its sessions. */
  perAccount?: RateLimiterAbstract | false
  /** Live sessions per account; a login or switch past it ends the oldest. Default 100. */
  maxSessions?: number
}

/** Counts refreshes and switches before they write anything: past a limit, 429 with Retry-After. */
export class SessionThrottle {
  readonly #perSession: RateLimiterAbstract | undefined
  readonly #perAccount: RateLimiterAbstract | undefined
  readonly maxSessions: number

  constructor(limits: SessionLimits = {}) {
    const {
      perSession = new RateLimiterMemory({ points: 30, duration: 15 * 60 }),
      perAccount = new RateLimiterMemory({ points: 300, duration: 15 * 60 }),
      maxSessions = 100,
    } = limits
    for (const limiter of [perSession, perAccount]) {
      if (limiter !== false && typeof (limiter as RateLimiterAbstract)?.consume !== 'function')
        throw new TypeError('tenantry: auth.sessionLimits takes rate-limiter-flexible limiters or false')
    }
    if (!Number.isInteger(maxSessions) || maxSessions < 1)
      throw new TypeError('tenantry: auth.sessionLimits.maxSessions must be a whole number, 1 or more')
    this.#perSession = perSession || undefined
    this.#perAccount = perAccount || undefined
    this.maxSessions = maxSessions
  }

  /** Counts one refresh or switch of `sessionId`, of `accountId`. */
  async attempt(sessionId: string, accountId: string): Promise<void> {
    try {
      await Promise.all([this.#perSession?.consume(`s:${sessionId}`), this.#perAccount?.consume(`a:${accountId}`)])
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err
      throw new TooManyRequestsError(
        'too many refreshes or switches for this session; retry later',
        Math.max(1, Math.ceil(err.msBeforeNext / 1000)),
      )
    }
  }
}
