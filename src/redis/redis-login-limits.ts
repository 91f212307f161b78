import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { LoginLimits } from '../lib/login-throttle.js'
import { DEFAULT_LOGIN_LIMITS } from '../lib/login-throttle.js'

export interface RedisLoginLimitsOptions {
  /** Your Redis client: ioredis, or node-redis v4+ (connected). */
  client: unknown
  /** Prefix of every key tenantry writes. Default `'tenantry'`. */
  keyPrefix?: string
  /** Attempts per email within `duration` seconds. Default 10 per 900. */
  perAccount?: { points: number; duration: number } | false
  /** Attempts per client address within `duration` seconds. Default 100 per 900. */
  perClient?: { points: number; duration: number } | false
}

/**
 * Login limits counted in Redis, so every instance of an app behind a load balancer shares one
 * count per account and per client address.
 *
 * @example
 * import Redis from 'ioredis'
 * const tenancy = createTenancy({ auth: { secret, loginLimits: redisLoginLimits({ client: new Redis(process.env.REDIS_URL!) }) } })
 */
export function redisLoginLimits(options: RedisLoginLimitsOptions): LoginLimits {
  const {
    client,
    keyPrefix = 'tenantry',
    perAccount = DEFAULT_LOGIN_LIMITS.perAccount,
    perClient = DEFAULT_LOGIN_LIMITS.perClient,
  } = options ?? ({} as RedisLoginLimitsOptions)
  if (typeof client !== 'object' || client === null)
    throw new TypeError('tenantry: redisLoginLimits needs { client }, an ioredis or node-redis client')
  if (typeof keyPrefix !== 'string' || keyPrefix === '')
    throw new TypeError('tenantry: keyPrefix must be a non-empty string')
  // node-redis v4+ is told apart by its command API; ioredis needs no flag.
  const useRedisPackage =
    typeof (client as { sendCommand?: unknown }).sendCommand === 'function' &&
    typeof (client as { call?: unknown }).call !== 'function'
  const limiter = (name: string, limit: { points: number; duration: number } | false) =>
    limit === false
      ? false
      : new RateLimiterRedis({
          storeClient: client,
          useRedisPackage,
          keyPrefix: `${keyPrefix}:login:${name}`,
          ...limit,
        })
  return { perAccount: limiter('account', perAccount), perClient: limiter('client', perClient) }
}
