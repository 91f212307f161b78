import { isSlug } from '../control/slug.js'
import { normalizeDomain } from '../control/domain-name.js'
import { organizationNameKey } from '../lib/organization-name.js'
import type { TenantRef } from '../tenant.js'

/** A reference reduced to what the store looks up, and the cache key it is remembered under. */
export type ParsedRef =
  | { kind: 'id'; value: string; key: string }
  | { kind: 'slug'; value: string; key: string }
  | { kind: 'nameKey'; value: string; key: string }
  | { kind: 'domain'; value: string; key: string }

/**
 * Checks a `TenantRef`'s shape and normalizes its value the way the store keys it. A ref that is
 * not one (no field, several, not a string) is the host's bug: `TypeError`. A well-formed ref
 * whose value no organization could ever have (`{ slug: 'Not A Label' }`) is `null`: not found.
 */
export function parseTenantRef(ref: TenantRef): ParsedRef | null {
  if (typeof ref !== 'object' || ref === null)
    throw new TypeError('tenantry: a tenant reference is an object: { id }, { slug }, { name } or { domain }')
  const { id, slug, name, domain } = ref as Partial<Record<'id' | 'slug' | 'name' | 'domain', unknown>>
  const given =
    (id !== undefined ? 1 : 0) +
    (slug !== undefined ? 1 : 0) +
    (name !== undefined ? 1 : 0) +
    (domain !== undefined ? 1 : 0)
  if (given !== 1) throw new TypeError('tenantry: a tenant reference names exactly one of id, slug, name or domain')
  const kind = id !== undefined ? 'id' : slug !== undefined ? 'slug' : name !== undefined ? 'name' : 'domain'
  const value = id ?? slug ?? name ?? domain
  if (typeof value !== 'string') throw new TypeError(`tenantry: the ${kind} of a tenant reference must be a string`)
  switch (kind) {
    case 'id':
      return value === '' ? null : { kind, value, key: `i:${value}` }
    case 'slug': {
      const lower = value.toLowerCase()
      return isSlug(lower) ? { kind, value: lower, key: `s:${lower}` } : null
    }
    case 'name': {
      const nameKey = organizationNameKey(value)
      return nameKey === '' ? null : { kind: 'nameKey', value: nameKey, key: `n:${nameKey}` }
    }
    case 'domain': {
      const normalized = normalizeDomain(value)
      return normalized === null ? null : { kind, value: normalized, key: `d:${normalized}` }
    }
  }
}
