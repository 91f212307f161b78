import type { OrganizationRecord } from '../store.js'
import type { Tenant } from '../tenant.js'

// Tenants tenantry made itself. `tenancy.run` takes one of these as is; anything else it is
// given is a reference to resolve, so a hand-made `{ id, data }` can never smuggle in a handle.
const minted = new WeakSet<object>()

/** Freezes and brands a tenant: one object may serve many requests, so none may change it. */
export function mintTenant<TTenant extends Tenant>(fields: TTenant): TTenant {
  const tenant = Object.freeze(fields)
  minted.add(tenant)
  return tenant
}

/** The tenant for an organization record and its data handle. */
export function tenantOf(record: OrganizationRecord, data: unknown): Tenant {
  return mintTenant({ id: record.id, name: record.name, slug: record.slug, data })
}

export function isMintedTenant(value: unknown): value is Tenant {
  return typeof value === 'object' && value !== null && minted.has(value)
}
