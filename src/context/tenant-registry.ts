import type { Auth } from '../auth/auth.js'
import type { AccessTokenClaims } from '../auth/tokens.js'
import {
  OrganizationNotFoundError,
  OrganizationRequiredError,
  OrganizationSuspendedError,
  TenantAccessDeniedError,
  TokenInvalidError,
} from '../errors.js'
import type { Store } from '../store.js'
import type { OrganizationRecord } from '../control/records.js'
import type { MemberTenant, Tenant, TenantRef } from '../tenant.js'
import type { CachedAccount, CachedMembership, CachedOrganization, CachedSession, TenantCache } from './tenant-cache.js'
import { mintTenant, tenantOf } from './mint-tenant.js'
import { parseTenantRef, type ParsedRef } from './tenant-ref.js'
import { effectiveRole } from '../members/roles.js'

/**
 * Turns an access token or a `TenantRef` into its live tenant. A token is honoured only while
 * its organization is active, its membership still exists with the role the token carries (the
 * owner's is whatever membership the organization names), its account's token version has not
 * moved on (a password change bumps it) and its session has not ended (logout), so each of
 * those revokes at once. A reference resolves only to an active organization.
 *
 * It sits in front of every tenant request, so it caches (`TenantCache`): verified tokens
 * (until their own expiry, so no token outlives `exp`), organizations, accounts, memberships, sessions and
 * references (bounded, with a TTL), invalidated by every change made through this tenancy.
 *
 * @example
 * const tenant = await registry.resolve(token) // tenancy.authenticate(token)
 * const same = await registry.find({ slug: tenant.slug }) // tenancy.tenant({ slug })
 */
export class TenantRegistry {
  readonly #store: Store
  readonly #auth: Auth
  readonly #cache: TenantCache
  readonly #parsed = new WeakMap<TenantRef, ParsedRef | null>()
  // Store reads in flight, keyed by the epoch they began in and what they read.
  readonly #loadingRefs = new Map<string, Promise<Tenant>>()
  readonly #loadingOrganizations = new Map<string, Promise<CachedOrganization | undefined>>()

  constructor(store: Store, auth: Auth, cache: TenantCache) {
    this.#store = store
    this.#auth = auth
    this.#cache = cache
  }

  /** Throws `TokenInvalidError` or `TokenExpiredError` when the token does not scope a live tenant. */
  async resolve(token: string): Promise<MemberTenant> {
    return this.lookup(token)
  }

  /**
   * `resolve`, but synchronous when the token, its organization, account, membership and session are all
   * cached, which is nearly every request: the hot path then allocates no promise and waits for
   * no microtask. Throws (synchronously, or by rejecting) exactly what `resolve` rejects with.
   */
  lookup(token: string): MemberTenant | Promise<MemberTenant> {
    // The hot path: one map lookup. A resolved token is reused only while nothing has been
    // invalidated since it was resolved (the epoch) and before the first of its token's expiry,
    // its session's end and the cache TTL; otherwise it is checked piece by piece again.
    const resolved = this.#cache.resolved?.get(token)
    if (resolved && resolved.epoch === this.#cache.epoch && Date.now() < resolved.validUntil) return resolved.tenant
    const claims = this.#verify(token)
    const organization = this.#cache.organizations?.get(claims.organizationId)
    const account = this.#cache.accounts?.get(claims.accountId)
    const membership = this.#cache.memberships?.get(claims.membershipId)
    const session = this.#cache.sessions?.get(claims.sessionId)
    if (organization && account && membership && session)
      return this.#tenant(token, claims, this.#cache.epoch, organization, account, membership, session)
    return this.#load(token, claims, organization, account, membership, session)
  }

  /** The active organization `ref` names, or `OrganizationNotFoundError`. */
  async find(ref: TenantRef): Promise<Tenant> {
    return this.findSync(ref)
  }

  /**
   * `find`, but synchronous when the reference and its organization are cached. A malformed
   * reference throws `TypeError` at once (it is the caller's bug, not a missing tenant).
   */
  findSync(ref: TenantRef): Tenant | Promise<Tenant> {
    // A frozen reference cannot change, so it is parsed once (tenantScope's host strategy keeps
    // one per hostname). Any other may be reused with new contents, so it is parsed every time.
    let parsed = this.#parsed.get(ref)
    // Stryker disable next-line ConditionalExpression: parsing again costs a parse, nothing else
    if (parsed === undefined) {
      parsed = parseTenantRef(ref)
      // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: refused above; caching costs a parse only
      if (Object.isFrozen(ref) && typeof ref === 'object' && ref !== null) this.#parsed.set(ref, parsed)
    }
    if (parsed === null) return Promise.reject(new OrganizationNotFoundError('no organization matches this reference'))
    // A cached reference points at its organization's cache entry, and counts only while that
    // entry is alive: every change to the organization (rename, reslug, domain removal, delete)
    // kills the entry, and with it every reference to it, without tracking them.
    const organization =
      parsed.kind === 'id' ? this.#cache.organizations?.get(parsed.value) : this.#cache.refs?.get(parsed.key)
    // Stryker disable next-line EqualityOperator: at most one millisecond more of the cache TTL
    if (organization?.alive && Date.now() < organization.expiresAt) return organization.tenant
    if (this.#cache.missing?.get(parsed.key) === this.#cache.epoch)
      return Promise.reject(new OrganizationNotFoundError('no organization matches this reference'))
    // Single flight: concurrent misses for one reference share one store read, but only one
    // that began after the last change (the epoch in the key): a call made after a rename or a
    // suspension never gets an answer read before it.
    const flight = `${this.#cache.epoch}:${parsed.key}`
    let loading = this.#loadingRefs.get(flight)
    if (loading === undefined) {
      loading = this.#loadRef(parsed).finally(() => this.#loadingRefs.delete(flight))
      this.#loadingRefs.set(flight, loading)
    }
    return loading
  }

  /**
   * The organization `ref` names, with the host's user `subject` as its member. Cached as a
   * token's answer is: dropped by any change (a role, a removal, a suspension) here or, through
   * the cache's invalidation, on another instance, so it counts on the very next request. The
   * membership is checked before anything about the organization is said: a non-member gets
   * `TenantAccessDeniedError` whether it is active or suspended; only a member is told
   * `OrganizationSuspendedError`.
   */
  async memberOf(ref: TenantRef, subject: string): Promise<Tenant> {
    const parsed = parseTenantRef(ref)
    // A JSON pair: no two (reference, subject) pairs share one.
    const key = parsed && JSON.stringify([parsed.key, subject])
    const resolved = key === null ? undefined : this.#cache.members?.get(key)
    if (resolved && resolved.epoch === this.#cache.epoch && Date.now() < resolved.validUntil) return resolved.tenant
    const epoch = this.#cache.epoch
    const [record, account] = await Promise.all([
      parsed && this.#findRecord(parsed),
      this.#store.records.accounts.find({ subject }),
    ])
    if (record?.state !== 'active' && record?.state !== 'suspended')
      throw new OrganizationNotFoundError('no organization matches this reference')
    const membership =
      account && (await this.#store.records.memberships.find({ accountId: account.id, organizationId: record.id }))
    if (!account || !membership)
      throw new TenantAccessDeniedError('the signed-in user is not a member of this organization')
    if (record.state === 'suspended') throw new OrganizationSuspendedError()
    const member = {
      id: membership.id,
      accountId: account.id,
      role: effectiveRole(record, membership.id, membership.role),
    }
    const tenant = mintTenant({ ...(await this.find({ id: record.id })), member: Object.freeze(member) })
    if (key !== null) this.#cache.members?.set(key, { tenant, epoch, validUntil: Date.now() + this.#cache.ttlMs })
    return tenant
  }

  /**
   * The organization a host user acts in, with that user as its member: the one `organization`
   * names, or, without it, their only organization. `OrganizationRequiredError` (400, listing
   * them) when they belong to several, `TenantAccessDeniedError` when to none (or not to the one
   * named).
   */
  async actingAs(subject: string, organization?: TenantRef): Promise<Tenant> {
    if (organization !== undefined) return this.memberOf(organization, subject)
    const account = await this.#store.records.accounts.find({ subject })
    const memberships = account ? await this.#store.records.memberships.list({ accountId: account.id }) : []
    const organizations = (
      await Promise.all(
        memberships.map((membership) => this.#store.records.organizations.find({ id: membership.organizationId })),
      )
    ).filter((record) => record?.state === 'active' || record?.state === 'suspended') as OrganizationRecord[]
    if (organizations.length === 0)
      throw new TenantAccessDeniedError('the signed-in user is not a member of any organization')
    if (organizations.length > 1)
      throw new OrganizationRequiredError(organizations.map(({ name, slug }) => ({ name, slug })))
    return this.memberOf({ id: organizations[0]!.id }, subject)
  }

  async #loadRef(ref: ParsedRef): Promise<Tenant> {
    const epoch = this.#cache.epoch
    const record = await this.#findRecord(ref)
    // A suspended organization too: by reference alone nobody is told it is suspended.
    if (record?.state !== 'active') {
      if (epoch === this.#cache.epoch) this.#cache.missing?.set(ref.key, epoch)
      throw new OrganizationNotFoundError('no organization matches this reference')
    }
    const organization = this.#cacheOrganization(record, epoch)
    // Stryker disable next-line EqualityOperator,StringLiteral: a second cache costs memory only
    if (ref.kind !== 'id' && epoch === this.#cache.epoch) this.#cache.refs?.set(ref.key, organization)
    return organization.tenant
  }

  async #findRecord(ref: ParsedRef): Promise<OrganizationRecord | null> {
    switch (ref.kind) {
      case 'id':
        return this.#store.records.organizations.find({ id: ref.value })
      case 'slug':
        return this.#store.records.organizations.find({ slug: ref.value })
      case 'nameKey':
        return this.#store.records.organizations.find({ nameKey: ref.value })
      case 'domain': {
        // A store that keeps no domains serves none: the reference finds nothing.
        const domain = (await this.#store.records.domains?.find(ref.value)) ?? null
        return domain && this.#store.records.organizations.find({ id: domain.organizationId })
      }
    }
  }

  async #load(
    token: string,
    claims: AccessTokenClaims,
    organization?: CachedOrganization,
    account?: CachedAccount,
    membership?: CachedMembership,
    session?: CachedSession,
  ): Promise<MemberTenant> {
    const epoch = this.#cache.epoch
    const loaded = await Promise.all([
      organization ?? this.#loadOrganization(claims.organizationId, epoch),
      account ?? this.#loadAccount(claims.accountId, epoch),
      membership ?? this.#loadMembership(claims.membershipId, epoch),
      session ?? this.#loadSession(claims.sessionId, epoch),
    ])
    return this.#tenant(token, claims, epoch, ...loaded)
  }

  /** `epoch` is the cache's epoch when the lookup began: what was read is trusted only if nothing changed since. */
  #tenant(
    token: string,
    claims: AccessTokenClaims,
    epoch: number,
    organization?: CachedOrganization,
    account?: CachedAccount,
    membership?: CachedMembership,
    session?: CachedSession,
  ): MemberTenant {
    if (!organization) throw new TokenInvalidError('the organization of this token no longer exists')
    if (membership?.organizationId !== organization.id)
      throw new TokenInvalidError('the membership of this token no longer exists')
    // Stryker disable next-line ConditionalExpression,StringLiteral: defense in depth: unreachable
    if (membership.accountId !== claims.accountId)
      throw new TokenInvalidError('the membership of this token no longer exists')
    // A role change or an ownership transfer revokes the token, as a password change does.
    if (effectiveRole(organization, claims.membershipId, membership.role) !== claims.role)
      throw new TokenInvalidError('the role in this token has changed')
    // Stryker disable next-line OptionalChaining: accounts go after their last membership
    if (account?.tokenVersion !== claims.tokenVersion) throw new TokenInvalidError('the access token has been revoked')
    const now = Date.now()
    if (session?.membershipId !== claims.membershipId || now >= session.expiresAt)
      throw new TokenInvalidError('the session of this token has ended')
    // Stryker disable next-line ConditionalExpression,StringLiteral: defense in depth: unreachable
    if (session.accountId !== claims.accountId) throw new TokenInvalidError('the session of this token has ended')
    // Frozen: one object serves every request with this token, so no request may change it for the next.
    const member = Object.freeze({ id: claims.membershipId, accountId: claims.accountId, role: claims.role })
    const tenant = mintTenant<MemberTenant>({ ...organization.tenant, member, sessionId: claims.sessionId })
    // Stryker disable next-line ObjectLiteral,ArithmeticOperator: a shorter entry costs store reads only
    this.#cache.resolved?.set(token, {
      tenant,
      epoch,
      validUntil: Math.min(claims.expiresAt * 1000, session.expiresAt, now + this.#cache.ttlMs),
    })
    return tenant
  }

  #verify(token: string): AccessTokenClaims {
    const cached = this.#cache.tokens?.get(token)
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: verifying again gives the same claims
    if (cached && Date.now() < cached.expiresAt * 1000) return cached
    const claims = this.#auth.verifyAccessToken(token)
    this.#cache.tokens?.set(token, claims)
    return claims
  }

  #loadOrganization(id: string, epoch: number): Promise<CachedOrganization | undefined> {
    // Single flight: the requests of one organization whose entry just expired share one read,
    // begun in the same epoch (after the same last change).
    const flight = `${epoch}:${id}`
    let loading = this.#loadingOrganizations.get(flight)
    if (loading === undefined) {
      loading = this.#readOrganization(id, epoch).finally(() => this.#loadingOrganizations.delete(flight))
      this.#loadingOrganizations.set(flight, loading)
    }
    return loading
  }

  async #readOrganization(id: string, epoch: number): Promise<CachedOrganization | undefined> {
    const record = await this.#store.records.organizations.find({ id })
    if (record?.state === 'suspended') throw new OrganizationSuspendedError()
    return record?.state === 'active' ? this.#cacheOrganization(record, epoch) : undefined
  }

  /**
   * The cache entry for an active organization record: the one already cached if there is one
   * (so references pointing at it stay valid), otherwise a new one, cached only if nothing was
   * invalidated since `epoch`.
   */
  #cacheOrganization(record: OrganizationRecord, epoch: number): CachedOrganization {
    const cached = this.#cache.organizations?.get(record.id)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: a fresh entry costs an allocation only
    if (cached && Date.now() < cached.expiresAt) return cached
    const organization: CachedOrganization = {
      id: record.id,
      ownerId: record.ownerId,
      tenant: tenantOf(record, this.#store),
      alive: true,
      expiresAt: Date.now() + this.#cache.ttlMs,
    }
    if (epoch === this.#cache.epoch) this.#cache.organizations?.set(record.id, organization)
    return organization
  }

  async #loadAccount(id: string, epoch: number): Promise<CachedAccount | undefined> {
    const record = await this.#store.records.accounts.find({ id })
    if (!record) return undefined
    const account = { tokenVersion: record.tokenVersion }
    if (epoch === this.#cache.epoch) this.#cache.accounts?.set(id, account)
    return account
  }

  async #loadMembership(id: string, epoch: number): Promise<CachedMembership | undefined> {
    const record = await this.#store.records.memberships.find({ id })
    if (!record) return undefined
    const membership = { accountId: record.accountId, organizationId: record.organizationId, role: record.role }
    if (epoch === this.#cache.epoch) this.#cache.memberships?.set(id, membership)
    return membership
  }

  async #loadSession(id: string, epoch: number): Promise<CachedSession | undefined> {
    const record = await this.#store.records.sessions.find(id)
    if (!record) return undefined
    const session = {
      accountId: record.accountId,
      membershipId: record.membershipId,
      expiresAt: record.expiresAt.getTime(),
    }
    if (epoch === this.#cache.epoch) this.#cache.sessions?.set(id, session)
    return session
  }
}
