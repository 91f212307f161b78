import type { TenantRegistry } from './context/tenant-registry.js'
import type { Store } from './store.js'

/** What the HTTP kit needs of a tenancy and a host must not reach: its store and its registry's synchronous paths. */
export interface TenancyInternals {
  store: Store
  registry: TenantRegistry
}

// Keyed by the tenancy object; typed as `object` so this module needs nothing from tenancy.ts.
const internals = new WeakMap<object, TenancyInternals>()

export function registerInternals(tenancy: object, parts: TenancyInternals): void {
  internals.set(tenancy, parts)
}

/** The internals of a tenancy `createTenancy` made; a `TypeError` for anything else. */
export function internalsOf(tenancy: object): TenancyInternals {
  const found = internals.get(tenancy)
  if (!found) throw new TypeError('tenantry: expected the tenancy createTenancy() returned')
  return found
}
