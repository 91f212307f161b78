import { AdminAuth, type AdminAuthOptions } from './auth/admin-auth.js'
import { AuditLog } from './audit-log.js'
import { OrgService } from './orgs/org-service.js'
import type { AuditEvent, TenantStore } from './store.js'
import { memoryStore } from './stores/memory/memory-store.js'
import type { MemoryCollection } from './stores/memory/memory-collection.js'
import { TenantCache, type TenantCacheOptions } from './context/tenant-cache.js'
import { TenantRegistry } from './context/tenant-registry.js'

export interface TenancyOptions<TData> {
  /** Where organizations, admins and tenant data live. Default: a new `memoryStore()`. */
  store?: TenantStore<TData>
  auth: AdminAuthOptions
  /**
   * How long a create or delete may stay in flight before another request for the same name or
   * email may finish or undo it (it was interrupted by a crash). Default 60 000 ms.
   */
  inFlightTimeoutMs?: number
  /** The registry's caches of verified tokens, organizations, admins and sessions. */
  cache?: TenantCacheOptions
  /** Called with every audit event (logins, refreshes, logouts, organization changes), after it is stored. */
  onAudit?: (event: AuditEvent) => void
}

/** The one object a host keeps: the three services over one store. */
export interface Tenancy<TData = unknown> {
  readonly store: TenantStore<TData>
  readonly orgs: OrgService
  readonly auth: AdminAuth
  readonly registry: TenantRegistry<TData>
  /** The audit trail: `audit.list(organizationId, { limit })`. */
  readonly audit: AuditLog
  /** `OrgService.migrate`: re-provision every tenant (declared indexes), resumably. */
  migrate: OrgService['migrate']
  /** `OrgService.recover`: finish or undo work a crash left behind. Run it at start-up. */
  recover: OrgService['recover']
}

/**
 * Wires the store, `AdminAuth`, `OrgService` and `TenantRegistry` together. Bad options throw a
 * `TypeError` here, at start-up, not on the first request.
 *
 * @example
 * const tenancy = createTenancy({ auth: { secret: process.env.JWT_SECRET! } })
 * app.use(orgRouter(tenancy))
 */
export function createTenancy(options: Omit<TenancyOptions<MemoryCollection>, 'store'> & { store?: undefined }): Tenancy<MemoryCollection>
export function createTenancy<TData>(options: TenancyOptions<TData> & { store: TenantStore<TData> }): Tenancy<TData>
export function createTenancy<TData>(options: TenancyOptions<TData>): Tenancy<TData> {
  if (typeof options !== 'object' || options === null) throw new TypeError('tenantry: createTenancy needs an options object')
  const { store = memoryStore() as unknown as TenantStore<TData>, auth: authOptions, inFlightTimeoutMs = 60_000 } = options
  if (typeof authOptions !== 'object' || authOptions === null) throw new TypeError('tenantry: auth options are required, at least { secret }')
  if (!Number.isFinite(inFlightTimeoutMs) || inFlightTimeoutMs < 0) throw new TypeError('tenantry: inFlightTimeoutMs must be a non-negative number')
  // One cache: the registry reads it, and everything that changes state invalidates it.
  const cache = new TenantCache(options.cache)
  const audit = new AuditLog(store, options.onAudit)
  const auth = new AdminAuth(store, authOptions, { cache, audit })
  const registry = new TenantRegistry(store, auth, cache)
  const orgs = new OrgService(store, auth, { invalidation: cache, audit, inFlightTimeoutMs })
  return { store, auth, registry, audit, orgs, migrate: (options) => orgs.migrate(options), recover: () => orgs.recover() }
}
