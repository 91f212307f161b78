/**
 * Redis for several app instances: shared login limits and cache invalidation.
 *
 * @packageDocumentation
 * @module tenantry/redis
 */
export { redisLoginLimits, type RedisLoginLimitsOptions } from './redis-login-limits.js'
export { redisInvalidation, type RedisInvalidation, type RedisInvalidationOptions } from './redis-invalidation.js'
