import type { AccessTokenClaims, AdminAuth } from '../auth/admin-auth.js'
import { OrganizationNotFoundError, TokenInvalidError } from '../errors.js'
import type { TenantStore } from '../store.js'
import type { CachedAdmin, CachedOrganization, CachedSession, TenantCache } from './tenant-cache.js'

/** The tenant a request is scoped to: `req.tenant` in Express, `ctx.state.tenant` in Koa. */
export interface Tenant<TData = unknown> {
  /** Organization id. */
  readonly id: string
  /** Organization display name. */
  readonly name: string
  /** The admin whose token scoped this request. */
  readonly adminId: string
  /** The login session the token belongs to (what `/admin/logout` ends). */
  readonly sessionId: string
  /** The tenant's own data handle from the store; it reaches this tenant's data and no other's. */
  readonly data: TData
}

/**
 * Turns an access token into its live tenant. A token is honoured only while its organization
 * is active, its admin still belongs to it, the admin's token version has not moved on (a
 * password change bumps it) and its session has not ended (logout), so each of those revokes at
 * once.
 *
 * It sits in front of every tenant request, so it caches (`TenantCache`): verified tokens
 * (until their own expiry, so no token outlives `exp`), organizations, admins and sessions
 * (bounded, with a TTL), invalidated by every change made through this tenancy.
 *
 * @example
 * const tenant = await tenancy.registry.resolve(token)
 * await tenant.data.insertOne({ text: 'hello' })
 */
export class TenantRegistry<TData = unknown> {
  readonly #store: TenantStore<TData>
  readonly #auth: AdminAuth
  readonly #cache: TenantCache

  constructor(store: TenantStore<TData>, auth: AdminAuth, cache: TenantCache) {
    this.#store = store
    this.#auth = auth
    this.#cache = cache
  }

  /** Throws `TokenInvalidError` or `TokenExpiredError` when the token does not scope a live tenant. */
  async resolve(token: string): Promise<Tenant<TData>> {
    return this.lookup(token)
  }

  /**
   * `resolve`, but synchronous when the token, its organization, admin and session are all
   * cached, which is nearly every request: the hot path then allocates no promise and waits for
   * no microtask. Throws (synchronously, or by rejecting) exactly what `resolve` rejects with.
   */
  lookup(token: string): Tenant<TData> | Promise<Tenant<TData>> {
    // The hot path: one map lookup. A resolved token is reused only while nothing has been
    // invalidated since it was resolved (the epoch) and before the first of its token's expiry,
    // its session's end and the cache TTL; otherwise it is checked piece by piece again.
    const resolved = this.#cache.resolved?.get(token)
    if (resolved && resolved.epoch === this.#cache.epoch && Date.now() < resolved.validUntil) return resolved.tenant as Tenant<TData>
    const claims = this.#verify(token)
    const organization = this.#cache.organizations?.get(claims.organizationId)
    const admin = this.#cache.admins?.get(claims.adminId)
    const session = this.#cache.sessions?.get(claims.sessionId)
    if (organization && admin && session) return this.#tenant(token, claims, this.#cache.epoch, organization, admin, session)
    return this.#load(token, claims, organization, admin, session)
  }

  async #load(token: string, claims: AccessTokenClaims, organization?: CachedOrganization, admin?: CachedAdmin, session?: CachedSession): Promise<Tenant<TData>> {
    const epoch = this.#cache.epoch
    const loaded = await Promise.all([
      organization ?? this.#loadOrganization(claims.organizationId, epoch),
      admin ?? this.#loadAdmin(claims.adminId, epoch),
      session ?? this.#loadSession(claims.sessionId, epoch),
    ])
    return this.#tenant(token, claims, epoch, ...loaded)
  }

  /** `epoch` is the cache's epoch when the lookup began: what was read is trusted only if nothing changed since. */
  #tenant(token: string, claims: AccessTokenClaims, epoch: number, organization?: CachedOrganization, admin?: CachedAdmin, session?: CachedSession): Tenant<TData> {
    if (!organization) throw new TokenInvalidError('the organization of this token no longer exists')
    if (admin?.organizationId !== organization.id) throw new TokenInvalidError('the admin of this token no longer exists')
    if (admin.tokenVersion !== claims.tokenVersion) throw new TokenInvalidError('the access token has been revoked')
    const now = Date.now()
    if (session?.adminId !== claims.adminId || now >= session.expiresAt) throw new TokenInvalidError('the session of this token has ended')
    // Frozen: one object serves every request with this token, so no request may change it for the next.
    const tenant: Tenant<TData> = Object.freeze({ id: organization.id, name: organization.name, adminId: claims.adminId, sessionId: claims.sessionId, data: organization.data as TData })
    this.#cache.resolved?.set(token, { tenant, epoch, validUntil: Math.min(claims.expiresAt * 1000, session.expiresAt, now + this.#cache.ttlMs) })
    return tenant
  }

  #verify(token: string): AccessTokenClaims {
    const cached = this.#cache.tokens?.get(token)
    if (cached && Date.now() < cached.expiresAt * 1000) return cached
    const claims = this.#auth.verifyAccessToken(token)
    this.#cache.tokens?.set(token, claims)
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
    if (epoch === this.#cache.epoch) this.#cache.organizations?.set(id, organization)
    return organization
  }

  async #loadAdmin(id: string, epoch: number): Promise<CachedAdmin | undefined> {
    const record = await this.#store.findAdmin({ id })
    if (!record) return undefined
    const admin = { organizationId: record.organizationId, tokenVersion: record.tokenVersion }
    if (epoch === this.#cache.epoch) this.#cache.admins?.set(id, admin)
    return admin
  }

  async #loadSession(id: string, epoch: number): Promise<CachedSession | undefined> {
    const record = await this.#store.findSession(id)
    if (!record) return undefined
    const session = { adminId: record.adminId, expiresAt: record.expiresAt.getTime() }
    if (epoch === this.#cache.epoch) this.#cache.sessions?.set(id, session)
    return session
  }
}
