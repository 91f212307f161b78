import type { AdminAuth } from './admin-auth.js'
import { OrganizationNotFoundError, TokenInvalidError } from './errors.js'
import type { TenantStore } from './store.js'

/** The tenant a request is scoped to: `req.tenant` in Express, `ctx.state.tenant` in Koa. */
export interface Tenant<TData = unknown> {
  /** Organization id. */
  id: string
  /** Organization display name. */
  name: string
  /** The admin whose token scoped this request. */
  adminId: string
  /** The tenant's own data handle from the store; it reaches this tenant's data and no other's. */
  data: TData
}

/**
 * Turns an access token into its live tenant. A token is honoured only while its organization
 * is active, its admin still belongs to it, and the admin's token version has not moved on
 * (a password change bumps it), so deletion and password changes revoke at once.
 *
 * @example
 * const tenant = await tenancy.registry.resolve(token)
 * await tenant.data.insertOne({ text: 'hello' })
 */
export class TenantRegistry<TData = unknown> {
  readonly #store: TenantStore<TData>
  readonly #auth: AdminAuth

  constructor(store: TenantStore<TData>, auth: AdminAuth) {
    this.#store = store
    this.#auth = auth
  }

  /** Throws `TokenInvalidError` or `TokenExpiredError` when the token does not scope a live tenant. */
  async resolve(token: string): Promise<Tenant<TData>> {
    const claims = this.#auth.verifyAccessToken(token)
    const [organization, admin] = await Promise.all([
      this.#store.findOrganization({ id: claims.organizationId }),
      this.#store.findAdmin({ id: claims.adminId }),
    ])
    if (organization?.state !== 'active') throw new TokenInvalidError('the organization of this token no longer exists')
    if (admin?.organizationId !== organization.id) throw new TokenInvalidError('the admin of this token no longer exists')
    if (admin.tokenVersion !== claims.tokenVersion) throw new TokenInvalidError('the access token has been revoked')
    let data: TData
    try {
      data = this.#store.tenantData(organization)
    } catch (err) {
      if (err instanceof OrganizationNotFoundError) throw new TokenInvalidError('the organization of this token no longer exists', { cause: err })
      throw err
    }
    return { id: organization.id, name: organization.name, adminId: admin.id, data }
  }
}
