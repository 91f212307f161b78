import { RateLimiterRedis } from 'rate-limiter-flexible'
import type { LoginLimits } from '../lib/login-throttle.js'
import { DEFAULT_LOGIN_LIMITS } from '../lib/login-throttle.js'

type Budget = { points: number; duration: number } | false

export interface RedisLoginLimitsOptions {
  /** Your Redis client: ioredis, or node-redis v4+ (connected). */
  client: unknown
  /** Prefix of every key tenantry writes. Default `'tenantry'`. */
  keyPrefix?: string
  /** Attempts per email from unfamiliar addresses within `duration` seconds. Default 10 per 900. */
  perAccount?: Budget
  /** Attempts per client address (IPv6: per `ipv6Prefix`) within `duration` seconds. Default 100 per 900. */
  perClient?: Budget
  /** Failed attempts from unfamiliar addresses across all accounts. Default 1,000 per 60. */
  global?: Budget
  /** How long an address stays familiar to an account after signing in to it, in seconds. Default 14 days. */
  familiarSeconds?: number | false
  /** IPv6 addresses are counted by this many leading bits. Default 64. */
  ipv6Prefix?: number
}

/**
 * Login limits counted in Redis, so every instance of an app behind a load balancer shares one
 * count per account, per client address and in all, and knows the same familiar addresses.
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
    global = DEFAULT_LOGIN_LIMITS.global,
    familiarSeconds = DEFAULT_LOGIN_LIMITS.familiar.duration,
    ipv6Prefix,
  } = options ?? ({} as RedisLoginLimitsOptions)
  if (typeof client !== 'object' || client === null)
    throw new TypeError('tenantry: redisLoginLimits needs { client }, an ioredis or node-redis client')
  if (typeof keyPrefix !== 'string' || keyPrefix === '')
    throw new TypeError('tenantry: keyPrefix must be a non-empty string')
  if (familiarSeconds !== false && (!Number.isInteger(familiarSeconds) || familiarSeconds <= 0))
    throw new TypeError('tenantry: familiarSeconds must be a positive whole number of seconds or false')
  // node-redis v4+ is told apart by its command API; ioredis needs no flag.
  const useRedisPackage =
    typeof (client as { sendCommand?: unknown }).sendCommand === 'function' &&
    typeof (client as { call?: unknown }).call !== 'function'
  const limiter = (name: string, limit: Budget) =>
    limit === false
      ? false
      : new RateLimiterRedis({
          storeClient: client,
          useRedisPackage,
          keyPrefix: `${keyPrefix}:login:${name}`,
          ...limit,
        })
  return {
    perAccount: limiter('account', perAccount),
    perClient: limiter('client', perClient),
    global: limiter('global', global),
    familiar: limiter('familiar', familiarSeconds === false ? false : { points: 1, duration: familiarSeconds }),
    ...(ipv6Prefix === undefined ? {} : { ipv6Prefix }),
  }
}
