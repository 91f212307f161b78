/**
 * How instances of an app tell each other what changed, so each drops what it cached at once
 * rather than when its cache TTL runs out. Types only; `tenantry/redis`'s `redisInvalidation`
 * is one implementation.
 */

/** One change: every cache entry for this organization, account, membership or session is stale. */
export interface InvalidationMessage {
  kind: 'organization' | 'account' | 'membership' | 'session'
  id: string
}

/** What the cache hands a transport when it connects. */
export interface InvalidationListener {
  /** Another instance changed something. */
  invalidate(message: InvalidationMessage): void
  /**
   * `false` the moment messages may be missed (the subscription is down): the cache then serves
   * nothing and every lookup reads the store. `true` once messages flow again: the cache starts
   * empty, since whatever it held may have missed a change during the outage.
   */
  setHealthy(healthy: boolean): void
}

/** A transport for invalidations: `createTenancy({ cache: { invalidation } })`. */
export interface CacheInvalidation {
  /** Tells the other instances about a change made here. Fire and forget. */
  publish(message: InvalidationMessage): void
  /** Starts delivering other instances' changes. Called once, by the cache, at start-up. */
  connect(listener: InvalidationListener): void
}
