import type { Store } from 'tenantry/store'
import type { TenantRegistry } from '../../src/context/tenant-registry.js'
import type { Tenancy } from 'tenantry'
import { internalsOf } from '../../src/tenancy-internals.js'

/** The store behind a tenancy, for tests that check what an operation left in the records. */
export function storeOf(tenancy: Tenancy): Store {
  return internalsOf(tenancy).store
}

/** The registry behind a tenancy, for tests of its synchronous paths (what `tenantScope` uses). */
export function registryOf(tenancy: Tenancy): TenantRegistry {
  return internalsOf(tenancy).registry
}
