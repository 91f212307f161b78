import { LRUCache } from 'lru-cache'
import type { AccessTokenClaims } from '../auth/admin-auth.js'
import type { AdminTenant, Tenant } from '../tenant.js'

export interface TenantCacheOptions {
  /** Most tokens, organizations, admins and sessions each cache holds. Default 10 000; 0 turns caching off. */
  size?: number
  /**
   * How long a cached organization, admin or session is trusted, in ms. Changes made through
   * this process invalidate at once; this bounds how late another process's changes (another
   * instance behind the load balancer) are seen. Default 5 000.
   */
  ttlMs?: number
}

export interface CachedOrganization {
  id: string
  /** The frozen `Tenant` every lookup of this organization hands out (a token adds its admin and session). */
  tenant: Tenant
  /**
   * Cleared the moment the entry leaves the organizations cache: invalidated (rename, reslug,
   * domain removal, delete), evicted or expired. A reference cached with this entry is trusted
   * only while it is set, so one change drops every reference to the organization at once.
   */
  alive: boolean
  /** `Date.now()` past which the entry is not trusted (the TTL), also by references to it. */
  expiresAt: number
}
export interface CachedAdmin {
  organizationId: string
  tokenVersion: number
}
export interface CachedSession {
  adminId: string
  expiresAt: number
}
/** A token's whole answer, trusted while no invalidation has happened since and until `validUntil`. */
export interface ResolvedToken {
  tenant: AdminTenant
  epoch: number
  validUntil: number
}

/**
 * What `TenantRegistry` remembers between requests, and the one place every change is reported
 * to: `OrgService` after each organization or admin change, `AdminAuth` after a logout. An
 * epoch counter, bumped by every invalidation, lets a lookup that started before a change refuse
 * to cache what it read.
 */
export class TenantCache {
  readonly tokens: LRUCache<string, AccessTokenClaims> | undefined
  readonly organizations: LRUCache<string, CachedOrganization> | undefined
  readonly admins: LRUCache<string, CachedAdmin> | undefined
  readonly sessions: LRUCache<string, CachedSession> | undefined
  readonly resolved: LRUCache<string, ResolvedToken> | undefined
  /** `TenantRef` keys (`s:acme`, `d:shop.acme.com`, `n:acme`) → the organization entry they resolved to. */
  readonly refs: LRUCache<string, CachedOrganization> | undefined
  readonly ttlMs: number
  #epoch = 0

  constructor(options: TenantCacheOptions = {}) {
    const { size = 10_000, ttlMs = 5_000 } = options
    if (!Number.isInteger(size) || size < 0) throw new TypeError('tenantry: cache.size must be a whole number, 0 or more')
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new TypeError('tenantry: cache.ttlMs must be a positive whole number of milliseconds')
    this.ttlMs = ttlMs
    if (size === 0) return
    this.resolved = new LRUCache({ max: size })
    this.tokens = new LRUCache({ max: size })
    this.organizations = new LRUCache<string, CachedOrganization>({
      max: size,
      ttl: ttlMs,
      dispose: (organization) => {
        organization.alive = false
      },
    })
    this.admins = new LRUCache({ max: size, ttl: ttlMs })
    this.sessions = new LRUCache({ max: size, ttl: ttlMs })
    // No TTL of its own: an entry is as good as the organization entry it points at.
    this.refs = new LRUCache({ max: size })
  }

  get epoch(): number {
    return this.#epoch
  }

  invalidateOrganization(organizationId: string): void {
    this.#epoch++
    this.organizations?.delete(organizationId)
  }

  invalidateAdmin(adminId: string): void {
    this.#epoch++
    this.admins?.delete(adminId)
  }

  invalidateSession(sessionId: string): void {
    this.#epoch++
    this.sessions?.delete(sessionId)
  }
}
