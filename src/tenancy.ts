import { Accounts } from './auth/accounts.js'
import { Auth } from './auth/auth.js'
import type { AuthOptions } from './auth/auth-options.js'
import { isMintedTenant, tenantOf } from './context/mint-tenant.js'
import { TenantCache, type TenantCacheOptions } from './context/tenant-cache.js'
import { runAsTenant } from './context/tenant-context.js'
import { TenantRegistry } from './context/tenant-registry.js'
import { walkOrganizations, type WalkOptions, type WalkReport } from './context/walk-organizations.js'
import { AuditLog, type AuditTrail } from './control/audit-log.js'
import { normalizeBaseDomain } from './control/domain-name.js'
import { migrateOrganizations } from './control/migrate.js'
import { metadataChecker, type MetadataOptions } from './control/organization-metadata.js'
import { OrganizationDomains } from './control/organization-domains.js'
import { OrganizationService } from './control/organization-service.js'
import { OrganizationTeardown, type RecoveryReport } from './control/organization-teardown.js'
import type { LifecycleHooks, MigrateOptions, MigrationReport } from './control/organization-types.js'
import type { AuditEvent } from './control/records.js'
import { DEFAULT_RESERVED_SLUGS, isSlug } from './control/slug.js'
import { tenancyAdmin, type TenancyAdmin } from './control/tenancy-admin.js'
import { OrganizationNotFoundError, OrganizationSuspendedError } from './errors.js'
import { Invitations, type InvitationOptions } from './members/invitations.js'
import { Limits, type LimitOptions } from './members/limits.js'
import { MemberService } from './members/member-service.js'
import { Roles, type RoleDefinitions } from './members/roles.js'
import type { Store } from './store.js'
import { memoryStore } from './stores/memory/memory-store.js'
import type { MemberTenant, Tenant, TenantRef } from './tenant.js'
import { registerInternals } from './tenancy-internals.js'

export interface TenancyOptions {
  /** Where organizations, admins and tenant data live. Default: a new `memoryStore()`, which declares no collections. */
  store?: Store
  auth: AuthOptions
  /**
   * How long a create or delete may stay in flight before another request for the same name or
   * email may finish or undo it (it was interrupted by a crash). Default 60 000 ms.
   */
  inFlightTimeoutMs?: number
  /** The registry's caches of verified tokens, organizations, admins, sessions and references. */
  cache?: TenantCacheOptions
  /** Called with every audit event (logins, refreshes, logouts, organization changes), after it is stored. */
  onAudit?: (event: AuditEvent) => void
  /**
   * The domain (or domains) whose subdomains are organizations' slugs: `acme.example.com` is the
   * organization with slug `acme`. No custom domain may be one of these or under one, and
   * `tenantScope({ from: 'host' })` uses them unless given its own.
   */
  baseDomain?: string | string[]
  /** Slugs no organization may take. Default `DEFAULT_RESERVED_SLUGS` (www, api, admin, app, ...). */
  reservedSlugs?: readonly string[]
  /** `afterCreate` and `beforeDelete`, each run inside `tenancy.run` for the organization. */
  hooks?: LifecycleHooks
  /**
   * Custom roles and their permissions, `{ editor: ['notes:read', 'notes:write'] }`, next to the
   * built-in `owner`, `admin` and `member` (`member` may be given permissions here too).
   */
  roles?: RoleDefinitions
  /** Invitation lifetime and the `onInvitation(invitation, token)` hook that emails the token. */
  invitations?: InvitationOptions
  /** What an organization's `metadata` may hold: a zod `schema` and `maxBytes` (default 8 KiB). */
  metadata?: MetadataOptions
  /**
   * Caps kept under any number of concurrent requests: `membersPerOrganization` (pending
   * invitations count when inviting) and `organizationsPerAccount`. Past one, the change is
   * refused with `LimitReachedError` (409 `LIMIT_REACHED`) and nothing is written. Default: none.
   */
  limits?: LimitOptions
}

export type ForEachTenantOptions = WalkOptions & {
  /** Visit suspended organizations too (a billing job settling their accounts). Default `false`. */
  includeSuspended?: boolean
}
export type ForEachTenantReport = WalkReport

/** The one object a host keeps: the services over one store, and the ways to act as a tenant. */
export interface Tenancy {
  /** Organizations as their members manage them: `orgs.create(...)`, `orgs.update(tenant, ...)`, `orgs.addDomain(tenant, ...)`. */
  readonly orgs: OrganizationService
  /** tenantry's own sign-in: `auth.login(...)`, `auth.refresh(...)`, `auth.logout(tenant)`. */
  readonly auth: Auth
  /** The host app's own users: `accounts.link({ subject, email })` gives one its tenantry account. */
  readonly accounts: Pick<Accounts, 'link' | 'find'>
  /** Members, roles and ownership: `members.list(tenant)`, `members.can(tenant, 'notes:write')`, ... */
  readonly members: MemberService
  /** `invitations.invite(tenant, { email, role })`, `invitations.accept({ token, password })`, ... */
  readonly invitations: Invitations
  /** The audit trail as a member reads it (permission `audit:read`): `audit.list(tenant, { limit })`. */
  readonly audit: AuditTrail
  /**
   * The back office: trusted operations by organization id, with no acting member. For the
   * host's own code only (support tooling, billing); nothing in it checks who is asking.
   */
  readonly admin: TenancyAdmin
  /** The normalized base domains (`baseDomain`), possibly none. */
  readonly baseDomains: readonly string[]
  /**
   * The active organization `ref` names, from the same cache as the token path: a rename,
   * reslug, domain removal or delete is seen by the very next call. `OrganizationNotFoundError`
   * for an unknown or inactive organization.
   */
  tenant(ref: TenantRef): Promise<Tenant>
  /**
   * The tenant a tenantry access token scopes, checked as every request is: signature, expiry,
   * session, membership, role and organization. `TokenInvalidError` / `TokenExpiredError`
   * otherwise. For transports tenantry has no adapter for (a WebSocket upgrade, a queue).
   */
  authenticate(accessToken: string): Promise<MemberTenant>
  /**
   * Runs `fn(tenant)` with that tenant as the current context (`currentTenant()`,
   * `requireTenant()`), for a reference or a tenant tenantry handed out (`req.tenant`). The
   * context ends when `fn` settles, also when it throws; concurrent runs never see each other's.
   */
  run<TResult>(tenant: TenantRef | Tenant, fn: (tenant: Tenant) => TResult): Promise<Awaited<TResult>>
  /**
   * Runs `fn` inside `run` for every active organization in id order, `concurrency` at a time.
   * An organization deleted before its turn is skipped. The first `fn` that throws stops the
   * walk (its error is thrown); resume with `after: report.lastId` from `onProgress`.
   */
  forEachTenant(fn: (tenant: Tenant) => unknown, options?: ForEachTenantOptions): Promise<ForEachTenantReport>
  /**
   * Run once per deploy, before the new version serves: builds the store's own indexes or
   * tables, re-provisions every active and suspended tenant (new collections and indexes) and gives
   * organizations stored before slugs existed a slug. Idempotent and resumable
   * (`after: report.lastId`). The MongoDB store refuses writes until it has run; the PostgreSQL
   * store refuses every operation (`MigrationRequiredError`).
   */
  migrate(options?: MigrateOptions): Promise<MigrationReport>
  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, data spaces and memberships no organization owns are
   * removed. Run it at start-up; safe on several instances at once.
   */
  recover(): Promise<RecoveryReport>
}

/**
 * Wires the store and the services together. Bad options throw a `TypeError` here, at
 * start-up, not on the first request.
 *
 * @example
 * const tenancy = createTenancy({ auth: { secret: process.env.JWT_SECRET! }, baseDomain: 'example.com' })
 * app.use(orgRouter(tenancy))
 */
export function createTenancy(options: TenancyOptions): Tenancy {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('tenantry: createTenancy needs an options object')
  const { store = memoryStore(), auth: authOptions, inFlightTimeoutMs = 60_000, hooks = {} } = options
  assertStore(store)
  if (typeof authOptions !== 'object' || authOptions === null)
    throw new TypeError('tenantry: auth options are required, at least { secret }')
  if (!Number.isFinite(inFlightTimeoutMs) || inFlightTimeoutMs < 0)
    throw new TypeError('tenantry: inFlightTimeoutMs must be a non-negative number')
  const baseDomains = parseBaseDomains(options.baseDomain)
  const reservedSlugs = parseReservedSlugs(options.reservedSlugs)
  for (const name of ['afterCreate', 'beforeDelete'] as const) {
    if (hooks[name] !== undefined && typeof hooks[name] !== 'function')
      throw new TypeError(`tenantry: hooks.${name} must be a function`)
  }
  // One cache: the registry reads it, and everything that changes state invalidates it.
  const roles = new Roles(options.roles)
  const checkMetadata = metadataChecker(options.metadata)
  const cache = new TenantCache(options.cache)
  const limits = new Limits(store, cache, options.limits)
  const audit = new AuditLog(store, roles, options.onAudit)
  const auth = new Auth(store, authOptions, { cache, audit })
  const registry = new TenantRegistry(store, auth, cache)
  const accounts = new Accounts(store, { cache })
  const teardown = new OrganizationTeardown(store, { cache, hooks: hooks as LifecycleHooks, inFlightTimeoutMs })
  const domains = new OrganizationDomains(store, { cache, audit, baseDomains, inFlightTimeoutMs })
  const orgs = new OrganizationService(store, auth, {
    cache,
    audit,
    reservedSlugs,
    hooks: hooks as LifecycleHooks,
    roles,
    domains,
    teardown,
    accounts,
    checkMetadata,
    limits,
  })
  const members = new MemberService(store, { cache, audit, roles })
  const invitations = new Invitations(store, auth, {
    audit,
    cache,
    roles,
    accounts,
    limits,
    invitations: options.invitations,
  })

  const run = async <TResult>(ref: TenantRef | Tenant, fn: (tenant: Tenant) => TResult): Promise<Awaited<TResult>> => {
    if (typeof fn !== 'function') throw new TypeError('tenantry: tenancy.run needs a function to run')
    // Only a tenant tenantry minted is taken as is; anything else is a reference to resolve.
    const tenant = isMintedTenant(ref) ? (ref as Tenant) : await registry.find(ref as TenantRef)
    // Awaited here, inside this function, so the caller's context is what it was either way.
    return await (runAsTenant(tenant, fn) as Awaited<TResult>)
  }
  // A suspended organization's tenant, read afresh: the registry hands out only active ones.
  const suspendedTenant = async (id: string): Promise<Tenant> => {
    const record = await store.records.organizations.find({ id })
    if (record?.state !== 'suspended') throw new OrganizationNotFoundError('the organization changed meanwhile')
    return tenantOf(record, store)
  }
  const tenancy: Tenancy = Object.freeze({
    orgs,
    auth,
    accounts: Object.freeze({ link: accounts.link.bind(accounts), find: accounts.find.bind(accounts) }),
    members,
    invitations,
    audit: Object.freeze({ list: audit.list.bind(audit) }),
    admin: tenancyAdmin(store, {
      domains,
      audit,
      roles,
      members,
      teardown,
      cache,
      reservedSlugs,
      checkMetadata,
      limits,
    }),
    baseDomains,
    tenant: (ref: TenantRef) => registry.find(ref),
    authenticate: (accessToken: string) => registry.resolve(accessToken),
    run,
    forEachTenant(fn: (tenant: Tenant) => unknown, forEachOptions: ForEachTenantOptions = {}) {
      if (typeof fn !== 'function') throw new TypeError('tenantry: forEachTenant needs a function to run')
      const { includeSuspended = false, ...walkOptions } = forEachOptions
      return walkOrganizations(
        store,
        async (org) => {
          const suspended = org.state === 'suspended' && includeSuspended
          if (org.state !== 'active' && !suspended) return false
          let tenant: Tenant
          try {
            tenant = suspended ? await suspendedTenant(org.id) : await registry.find({ id: org.id })
          } catch (err) {
            // Deleted, suspended (or being deleted) since the listing: skipped, never run as anyone else.
            if (err instanceof OrganizationNotFoundError || err instanceof OrganizationSuspendedError) return false
            throw err
          }
          await runAsTenant(tenant, fn)
          return true
        },
        walkOptions,
      )
    },
    migrate: (migrateOptions?: MigrateOptions) => migrateOrganizations(store, { cache, reservedSlugs }, migrateOptions),
    recover: () => teardown.recover(),
  })
  registerInternals(tenancy, { store, registry })
  return tenancy
}

/** A store is a record store plus a data provider; anything else is the host's bug, caught here. */
function assertStore(store: Store): void {
  const records = (store as Partial<Store> | null)?.records
  const data = (store as Partial<Store> | null)?.data
  const groups = ['organizations', 'accounts', 'memberships', 'invitations', 'sessions'] as const
  if (
    typeof records !== 'object' ||
    records === null ||
    groups.some((group) => typeof records[group] !== 'object' || records[group] === null) ||
    typeof data?.collection !== 'function' ||
    !Array.isArray(data.collectionNames)
  ) {
    throw new TypeError(
      'tenantry: store must be { records, data }: a record store (organizations, accounts, memberships, invitations, sessions) and a tenant-data provider, as memoryStore() and mongoStore() return',
    )
  }
}

function parseBaseDomains(value: string | string[] | undefined): readonly string[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value]
  return Object.freeze(
    list.map((domain) => {
      const normalized = normalizeBaseDomain(domain)
      if (normalized === null)
        throw new TypeError(`tenantry: baseDomain ${JSON.stringify(domain)} is not a hostname such as example.com`)
      return normalized
    }),
  )
}

function parseReservedSlugs(value: readonly string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return new Set(DEFAULT_RESERVED_SLUGS)
  if (!Array.isArray(value) || !value.every((slug) => typeof slug === 'string' && isSlug(slug))) {
    throw new TypeError('tenantry: reservedSlugs must be a list of lower-case DNS labels')
  }
  return new Set(value)
}
