export { redisLoginLimits, type RedisLoginLimitsOptions } from './redis-login-limits.js'
