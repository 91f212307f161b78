export { redisLoginLimits, type RedisLoginLimitsOptions } from './redis-login-limits.js'
export { redisInvalidation, type RedisInvalidation, type RedisInvalidationOptions } from './redis-invalidation.js'
