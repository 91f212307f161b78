import { isSlug } from '../orgs/slug.js'
import { normalizeDomain } from '../orgs/domain-name.js'
import { organizationNameKey } from '../lib/organization-name.js'
import type { TenantRef } from '../tenant.js'

/** A reference reduced to what the store looks up, and the cache key it is remembered under. */
export type ParsedRef =
  | { kind: 'id'; value: string; key: string }
  | { kind: 'slug'; value: string; key: string }
  | { kind: 'nameKey'; value: string; key: string }
  | { kind: 'domain'; value: string; key: string }

const KINDS = ['id', 'slug', 'name', 'domain'] as const

/**
 * Checks a `TenantRef`'s shape and normalizes its value the way the store keys it. A ref that is
 * not one (no field, several, not a string) is the host's bug: `TypeError`. A well-formed ref
 * whose value no organization could ever have (`{ slug: 'Not A Label' }`) is `null`: not found.
 */
export function parseTenantRef(ref: TenantRef): ParsedRef | null {
  if (typeof ref !== 'object' || ref === null) throw new TypeError('tenantry: a tenant reference is an object: { id }, { slug }, { name } or { domain }')
  const present = KINDS.filter((kind) => (ref as Record<string, unknown>)[kind] !== undefined)
  if (present.length !== 1) throw new TypeError('tenantry: a tenant reference names exactly one of id, slug, name or domain')
  const kind = present[0]!
  const value = (ref as Record<string, unknown>)[kind]
  if (typeof value !== 'string') throw new TypeError(`tenantry: the ${kind} of a tenant reference must be a string`)
  switch (kind) {
    case 'id':
      return value === '' ? null : { kind, value, key: `i:${value}` }
    case 'slug': {
      const slug = value.toLowerCase()
      return isSlug(slug) ? { kind, value: slug, key: `s:${slug}` } : null
    }
    case 'name': {
      const nameKey = organizationNameKey(value)
      return nameKey === '' ? null : { kind: 'nameKey', value: nameKey, key: `n:${nameKey}` }
    }
    case 'domain': {
      const domain = normalizeDomain(value)
      return domain === null ? null : { kind, value: domain, key: `d:${domain}` }
    }
  }
}
