import type { Tenant } from '../tenant.js'
import type { WalkOptions } from '../context/walk-organizations.js'

/** The organization service's public types, shared by the service, its helpers and the HTTP layer. */

/** An organization as callers see it: no storage names, no internal state. */
export interface Organization {
  id: string
  name: string
  slug: string
  createdAt: Date
  updatedAt: Date
  /** The host's own JSON about it (`createTenancy({ metadata })` checks it); `{}` until set. */
  metadata: Record<string, unknown>
  /** Set on a suspended organization, as the back office lists it. */
  suspended?: true
}

/** A member as callers see it: never the password hash. */
export interface Member {
  /** The membership id. */
  id: string
  accountId: string
  organizationId: string
  /** `null` for a host user linked without one. */
  email: string | null
  /** `owner`, `admin`, `member` or a custom role. */
  role: string
  createdAt: Date
}

/**
 * A new organization and its owner: a tenantry account (`email` and `password`), or the host
 * app's signed-in user (`owner: { subject, email? }`, linked as `tenancy.accounts.link` does).
 */
export type CreateOrganizationInput = {
  name: string
  /** DNS label for `<slug>.<base domain>`. Default: derived from the name (with a suffix if that is taken). */
  slug?: string
} & ({ email: string; password: string } | { owner: { subject: string; email?: string } })

export interface UpdateOrganizationInput {
  /** New display name; a rename keeps the tenant's data where it is. */
  name?: string
  /** New slug; the old one stops resolving at once. */
  slug?: string
  /** New login email for the calling member's account. */
  email?: string
  /** New password for the calling member's account; revokes every token issued before, in every organization. */
  password?: string
  /** New metadata for the organization, replacing the old (needs `org:update`). */
  metadata?: Record<string, unknown>
}

/** Code the host runs at two moments of an organization's life, each inside `tenancy.run` for it. */
export interface LifecycleHooks {
  /**
   * After the data space exists, before anyone can see the organization: seed its data here. A
   * throw fails the create and removes everything, seeded data included.
   */
  afterCreate?: (tenant: Tenant) => unknown
  /**
   * Once the organization's tokens have stopped working, before its data is dropped: clean the
   * host's own records of it here. A throw stops the delete and gives the organization back
   * intact. An interrupted delete that `recover()` finishes runs it again, so keep it idempotent.
   */
  beforeDelete?: (tenant: Tenant) => unknown
}

export type MigrateOptions = Omit<WalkOptions, 'onProgress'> & { onProgress?: (report: MigrationReport) => void }

export interface MigrationReport {
  migrated: number
  /** The last organization id visited; pass it as `after` to resume. */
  lastId: string | undefined
}
