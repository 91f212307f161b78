import { LRUCache } from 'lru-cache'
import type { AccessTokenClaims } from '../auth/tokens.js'
import type { Tenant } from '../tenant.js'
import type { CacheInvalidation, InvalidationMessage } from './cache-invalidation.js'
import { ResolvedTokens } from './resolved-tokens.js'

export interface TenantCacheOptions {
  /**
   * Tells the other instances of the app about every change made here, and applies theirs, so
   * a logout, password change, delete, rename or reslug is seen everywhere at once instead of
   * within `ttlMs`: `redisInvalidation({ client })` from `tenantry/redis`.
   */
  invalidation?: CacheInvalidation
  /** Most tokens, organizations, accounts, memberships and sessions each cache holds. Default 10 000; 0 turns caching off. */
  size?: number
  /**
   * How long a cached organization, account, membership or session is trusted, in ms. Changes made through
   * this process invalidate at once; this bounds how late another process's changes (another
   * instance behind the load balancer) are seen. Default 5 000.
   */
  ttlMs?: number
}

export interface CachedOrganization {
  id: string
  /** The frozen `Tenant` every lookup of this organization hands out (a token adds its member and session). */
  tenant: Tenant
  /** The owner's membership id. */
  ownerId: string
  /**
   * Cleared the moment the entry leaves the organizations cache: invalidated (rename, reslug,
   * domain removal, delete), evicted or expired. A reference cached with this entry is trusted
   * only while it is set, so one change drops every reference to the organization at once.
   */
  alive: boolean
  /** `Date.now()` past which the entry is not trusted (the TTL), also by references to it. */
  expiresAt: number
}
export interface CachedAccount {
  tokenVersion: number
}
export interface CachedMembership {
  accountId: string
  organizationId: string
  /** As stored; the owner is whoever the organization's `ownerId` names. */
  role: string
}
export interface CachedSession {
  accountId: string
  membershipId: string
  expiresAt: number
}
/** A host user's tenant (`tenantScope({ member })`, `identify`), trusted as a resolved token is. */
export interface ResolvedMember {
  tenant: Tenant
  epoch: number
  validUntil: number
}

/**
 * What `TenantRegistry` remembers between requests, and the one place every change is reported
 * to: `OrganizationService` after each organization or admin change, `Auth` after a logout. An
 * epoch counter, bumped by every invalidation, lets a lookup that started before a change refuse
 * to cache what it read. With an `invalidation` transport, every change is also published to
 * the other instances, theirs are applied here, and while the transport is down the caches read
 * as absent, so every lookup goes to the store.
 */
export class TenantCache {
  readonly ttlMs: number
  readonly #tokens: LRUCache<string, AccessTokenClaims> | undefined
  readonly #organizations: LRUCache<string, CachedOrganization> | undefined
  readonly #accounts: LRUCache<string, CachedAccount> | undefined
  readonly #memberships: LRUCache<string, CachedMembership> | undefined
  readonly #sessions: LRUCache<string, CachedSession> | undefined
  readonly #resolved: ResolvedTokens | undefined
  readonly #members: LRUCache<string, ResolvedMember> | undefined
  readonly #refs: LRUCache<string, CachedOrganization> | undefined
  readonly #missing: LRUCache<string, number> | undefined
  readonly #invalidation: CacheInvalidation | undefined
  #epoch = 0
  // Without a transport there is nothing to miss; with one, nothing is trusted until it is up.
  #healthy: boolean

  constructor(options: TenantCacheOptions = {}) {
    const { size = 10_000, ttlMs = 5_000, invalidation } = options
    if (!Number.isInteger(size) || size < 0)
      throw new TypeError('tenantry: cache.size must be a whole number, 0 or more')
    if (!Number.isInteger(ttlMs) || ttlMs <= 0)
      throw new TypeError('tenantry: cache.ttlMs must be a positive whole number of milliseconds')
    if (
      invalidation !== undefined &&
      (typeof invalidation?.publish !== 'function' || typeof invalidation.connect !== 'function')
    ) {
      throw new TypeError(
        'tenantry: cache.invalidation must have publish() and connect(), such as redisInvalidation({ client })',
      )
    }
    this.ttlMs = ttlMs
    this.#invalidation = invalidation
    this.#healthy = invalidation === undefined
    if (size > 0) {
      this.#resolved = new ResolvedTokens(size)
      this.#members = new LRUCache({ max: size })
      this.#tokens = new LRUCache({ max: size })
      this.#organizations = new LRUCache<string, CachedOrganization>({
        max: size,
        ttl: ttlMs,
        dispose: (organization) => {
          organization.alive = false
        },
      })
      this.#accounts = new LRUCache({ max: size, ttl: ttlMs })
      this.#memberships = new LRUCache({ max: size, ttl: ttlMs })
      this.#sessions = new LRUCache({ max: size, ttl: ttlMs })
      // No TTL of its own: an entry is as good as the organization entry it points at.
      this.#refs = new LRUCache({ max: size })
      this.#missing = new LRUCache({ max: size, ttl: ttlMs })
    }
    invalidation?.connect({
      invalidate: (message) => this.#apply(message),
      setHealthy: (healthy) => this.#setHealthy(healthy),
    })
  }

  /** Verified token claims: the signature check only, which no change elsewhere can make stale, so kept through an outage. */
  get tokens() {
    return this.#tokens
  }
  // Every other cache reads as absent while invalidations may be missed.
  get organizations() {
    return this.#healthy ? this.#organizations : undefined
  }
  get accounts() {
    return this.#healthy ? this.#accounts : undefined
  }
  get memberships() {
    return this.#healthy ? this.#memberships : undefined
  }
  get sessions() {
    return this.#healthy ? this.#sessions : undefined
  }
  get resolved() {
    return this.#healthy ? this.#resolved : undefined
  }
  /** `[ref key, subject]` → that host user's tenant in the organization the reference named. */
  get members() {
    return this.#healthy ? this.#members : undefined
  }
  /** `TenantRef` keys (`s:acme`, `d:shop.acme.com`, `n:acme`) → the organization entry they resolved to. */
  get refs() {
    return this.#healthy ? this.#refs : undefined
  }
  /**
   * References that named no active organization → the epoch they were looked up in: trusted
   * only while nothing has changed since (a create, a reslug, a domain added), for at most
   * `ttlMs`, and never more of them than `size`, so a flood of made-up names costs one store
   * read per name per TTL and bounded memory.
   */
  get missing() {
    return this.#healthy ? this.#missing : undefined
  }

  get epoch(): number {
    return this.#epoch
  }

  invalidateOrganization(organizationId: string): void {
    this.#changed({ kind: 'organization', id: organizationId })
  }

  invalidateAccount(accountId: string): void {
    this.#changed({ kind: 'account', id: accountId })
  }

  invalidateMembership(membershipId: string): void {
    this.#changed({ kind: 'membership', id: membershipId })
  }

  invalidateSession(sessionId: string): void {
    this.#changed({ kind: 'session', id: sessionId })
  }

  /** A change made here: applied at once, and told to the other instances. */
  #changed(message: InvalidationMessage): void {
    this.#apply(message)
    this.#invalidation?.publish(message)
  }

  #apply(message: InvalidationMessage): void {
    this.#epoch++
    const caches = {
      organization: this.#organizations,
      account: this.#accounts,
      membership: this.#memberships,
      session: this.#sessions,
    }
    caches[message.kind]?.delete(message.id)
  }

  #setHealthy(healthy: boolean): void {
    // Either way, a lookup already in flight must not cache what it read.
    this.#epoch++
    if (healthy && !this.#healthy) {
      // Whatever was cached may have missed a change while messages were not arriving.
      for (const cache of [
        this.#resolved,
        this.#members,
        this.#organizations,
        this.#accounts,
        this.#memberships,
        this.#sessions,
        this.#refs,
        this.#missing,
      ])
        cache?.clear()
    }
    this.#healthy = healthy
  }
}
