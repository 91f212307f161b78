import { ValidationError } from '../errors.js'
import { organizationNameKey } from '../lib/organization-name.js'
import type { Organization } from './organization-types.js'
import type { OrganizationPatch, OrganizationRecord } from './records.js'

/** How an organization record is shown to callers, and how a rename, reslug or metadata change becomes a patch. */

/**
 * What a rename or reslug changes: only what differs (sending the current name changes nothing);
 * a reserved slug is a `ValidationError`.
 */
export function organizationPatch(
  org: OrganizationRecord,
  changes: { name?: string; slug?: string; metadata?: unknown },
  rules: { reservedSlugs: ReadonlySet<string>; checkMetadata: (value: unknown) => Record<string, unknown> },
): OrganizationPatch {
  const { reservedSlugs } = rules
  const patch: OrganizationPatch = {}
  if (changes.metadata !== undefined) patch.metadata = rules.checkMetadata(changes.metadata)
  if (changes.name !== undefined && changes.name !== org.name)
    Object.assign(patch, { name: changes.name, nameKey: organizationNameKey(changes.name) })
  if (changes.slug !== undefined && changes.slug !== org.slug) {
    if (reservedSlugs.has(changes.slug)) throw new ValidationError([{ pointer: '#/slug', detail: 'is reserved' }])
    patch.slug = changes.slug
  }
  return patch
}

/** An organization record as callers see it. */
export function toOrganization(org: OrganizationRecord): Organization {
  const organization: Organization = {
    id: org.id,
    name: org.name,
    slug: org.slug,
    createdAt: org.createdAt,
    updatedAt: org.updatedAt,
    metadata: structuredClone(org.metadata ?? {}),
  }
  if (org.state === 'suspended') organization.suspended = true
  return organization
}
