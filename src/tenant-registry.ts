import { LRUCache } from 'lru-cache'
import type { AccessTokenClaims, AdminAuth } from './admin-auth.js'
import { OrganizationNotFoundError, TokenInvalidError } from './errors.js'
import type { TenantStore } from './store.js'

/** The tenant a request is scoped to: `req.tenant` in Express, `ctx.state.tenant` in Koa. */
export interface Tenant<TData = unknown> {
  /** Organization id. */
  readonly id: string
  /** Organization display name. */
  readonly name: string
  /** The admin whose token scoped this request. */
  readonly adminId: string
  /** The tenant's own data handle from the store; it reaches this tenant's data and no other's. */
  readonly data: TData
}

export interface TenantCacheOptions {
  /** Most tokens, organizations and admins each cache holds. Default 10 000; 0 turns caching off. */
  size?: number
  /**
   * How long a cached organization or admin is trusted, in ms. Changes made through this
   * process invalidate at once; this bounds how late another process's changes (another
   * instance behind the load balancer) are seen. Default 5 000.
   */
  ttlMs?: number
}

/** What `OrgService` tells the registry after each change, so no cache serves the old state. */
export interface TenantInvalidation {
  invalidateOrganization(organizationId: string): void
  invalidateAdmin(adminId: string): void
}

// Cached as `unknown` data: a field typed with TData would make TenantRegistry<T> invariant in T
// and a Tenancy<MemoryCollection> unassignable where a Tenancy<unknown> is asked for.
interface CachedOrganization {
  id: string
  name: string
  data: unknown
}
interface CachedAdmin {
  organizationId: string
  tokenVersion: number
}

/**
 * Turns an access token into its live tenant. A token is honoured only while its organization
 * is active, its admin still belongs to it, and the admin's token version has not moved on
 * (a password change bumps it), so deletion and password changes revoke at once.
 *
 * It sits in front of every tenant request, so it caches: verified tokens (until their own
 * expiry, so no token outlives `exp`), organizations and admins (bounded, with a TTL). Every
 * change `OrgService` makes invalidates the affected entries before it returns.
 *
 * @example
 * const tenant = await tenancy.registry.resolve(token)
 * await tenant.data.insertOne({ text: 'hello' })
 */
export class TenantRegistry<TData = unknown> implements TenantInvalidation {
  readonly #store: TenantStore<TData>
  readonly #auth: AdminAuth
  readonly #tokens: LRUCache<string, AccessTokenClaims> | undefined
  readonly #organizations: LRUCache<string, CachedOrganization> | undefined
  readonly #admins: LRUCache<string, CachedAdmin> | undefined
  // Bumped by every invalidation. A lookup that started before one must not cache what it read,
  // or a value read just before a change could be stored just after it.
  #epoch = 0

  constructor(store: TenantStore<TData>, auth: AdminAuth, options: TenantCacheOptions = {}) {
    const { size: cacheSize = 10_000, ttlMs: cacheTtlMs = 5_000 } = options
    if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new TypeError('tenantry: cache.size must be a whole number, 0 or more')
    if (!Number.isInteger(cacheTtlMs) || cacheTtlMs <= 0) throw new TypeError('tenantry: cache.ttlMs must be a positive whole number of milliseconds')
    this.#store = store
    this.#auth = auth
    if (cacheSize > 0) {
      this.#tokens = new LRUCache({ max: cacheSize })
      this.#organizations = new LRUCache({ max: cacheSize, ttl: cacheTtlMs })
      this.#admins = new LRUCache({ max: cacheSize, ttl: cacheTtlMs })
    }
  }

  /** Throws `TokenInvalidError` or `TokenExpiredError` when the token does not scope a live tenant. */
  async resolve(token: string): Promise<Tenant<TData>> {
    return this.lookup(token)
  }

  /**
   * `resolve`, but synchronous when the token, its organization and its admin are all cached,
   * which is nearly every request: the hot path then allocates no promise and waits for no
   * microtask. Throws (synchronously, or by rejecting) exactly what `resolve` rejects with.
   */
  lookup(token: string): Tenant<TData> | Promise<Tenant<TData>> {
    const claims = this.#verify(token)
    const organization = this.#organizations?.get(claims.organizationId)
    const admin = this.#admins?.get(claims.adminId)
    if (organization && admin) return this.#tenant(claims, organization, admin)
    return this.#load(claims, organization, admin)
  }

  async #load(claims: AccessTokenClaims, cachedOrganization: CachedOrganization | undefined, cachedAdmin: CachedAdmin | undefined): Promise<Tenant<TData>> {
    const epoch = this.#epoch
    const [organization, admin] = await Promise.all([
      cachedOrganization ?? this.#loadOrganization(claims.organizationId, epoch),
      cachedAdmin ?? this.#loadAdmin(claims.adminId, epoch),
    ])
    return this.#tenant(claims, organization, admin)
  }

  #tenant(claims: AccessTokenClaims, organization: CachedOrganization | undefined, admin: CachedAdmin | undefined): Tenant<TData> {
    if (!organization) throw new TokenInvalidError('the organization of this token no longer exists')
    if (admin?.organizationId !== organization.id) throw new TokenInvalidError('the admin of this token no longer exists')
    if (admin.tokenVersion !== claims.tokenVersion) throw new TokenInvalidError('the access token has been revoked')
    return { id: organization.id, name: organization.name, adminId: claims.adminId, data: organization.data as TData }
  }

  /** Forgets what is cached about an organization; `OrgService` calls it after every change. */
  invalidateOrganization(organizationId: string): void {
    this.#epoch++
    this.#organizations?.delete(organizationId)
  }

  /** Forgets what is cached about an admin; `OrgService` calls it after every change. */
  invalidateAdmin(adminId: string): void {
    this.#epoch++
    this.#admins?.delete(adminId)
  }

  #verify(token: string): AccessTokenClaims {
    const cached = this.#tokens?.get(token)
    if (cached && Date.now() < cached.expiresAt * 1000) return cached
    const claims = this.#auth.verifyAccessToken(token)
    this.#tokens?.set(token, claims)
    return claims
  }

  async #loadOrganization(id: string, epoch: number): Promise<CachedOrganization | undefined> {
    const record = await this.#store.findOrganization({ id })
    if (record?.state !== 'active') return undefined
    let data: unknown
    try {
      data = this.#store.tenantData(record)
    } catch (err) {
      // A delete finished between the lookup and here.
      if (err instanceof OrganizationNotFoundError) return undefined
      throw err
    }
    const organization = { id: record.id, name: record.name, data }
    if (epoch === this.#epoch) this.#organizations?.set(id, organization)
    return organization
  }

  async #loadAdmin(id: string, epoch: number): Promise<CachedAdmin | undefined> {
    const record = await this.#store.findAdmin({ id })
    if (!record) return undefined
    const admin = { organizationId: record.organizationId, tokenVersion: record.tokenVersion }
    if (epoch === this.#epoch) this.#admins?.set(id, admin)
    return admin
  }
}
