import { z } from 'zod'
import { OrganizationNotFoundError, ValidationError } from '../errors.js'
import { newId } from '../lib/ids.js'
import { parseInput } from '../lib/parse-input.js'
import type { Limits } from '../members/limits.js'
import type { Roles } from '../members/roles.js'
import { systemActor } from '../members/caller.js'
import type { MemberService } from '../members/member-service.js'
import type { TenantCache } from '../context/tenant-cache.js'
import * as fields from '../lib/fields.js'
import type { Store } from '../store.js'
import type { AuditLog } from './audit-log.js'
import type { OrganizationDomain, OrganizationDomains } from './organization-domains.js'
import { organizationPatch, toOrganization } from './organization-fields.js'
import type { OrganizationTeardown } from './organization-teardown.js'
import { slug } from './slug.js'
import type { Member, Organization } from './organization-types.js'
import type { AuditEvent, AuditPage } from './records.js'

/**
 * The back office: operations by organization id with no acting member, for the host's own
 * trusted code (support tooling, billing, scripts). Nothing here checks who is asking, so never
 * wire one of these to a request without the host's own authorization in front. Everything a
 * member may do goes through `tenancy.orgs`, `tenancy.members`, `tenancy.invitations` and
 * `tenancy.audit`, which authorize the acting member themselves.
 *
 * @example
 * await tenancy.admin.addDomain(organizationId, 'app.acme.com') // after the host checked DNS
 */
export interface TenancyAdmin {
  /**
   * The same back office, audited as `actor` (who the host says is acting: `'support:jane'`,
   * `'billing'`) instead of `'system'`. tenantry records the label; the host vouches for it.
   *
   * @example
   * await tenancy.admin.as(`support:${staff.email}`).suspend(organizationId, { reason: 'chargeback' })
   */
  as(actor: string): TenancyAdmin
  /**
   * Active and suspended organizations (`suspended: true`) in id order, `limit` (default 100, at
   * most 1000) at a time. Pass `next` as `after` for the following page; `null` after the last.
   */
  listOrganizations(options?: {
    after?: string | null
    limit?: number
  }): Promise<{ organizations: Organization[]; next: string | null }>
  /** Adds a custom domain to the organization; the host proves the customer owns it first. */
  addDomain(organizationId: string, domain: string): Promise<OrganizationDomain>
  /** Removes a custom domain; it stops resolving at once. `DomainNotFoundError` if the organization does not hold it. */
  removeDomain(organizationId: string, domain: string): Promise<void>
  /** The organization's custom domains, ordered by name. */
  listDomains(organizationId: string): Promise<OrganizationDomain[]>
  /** The organization's audit events, newest first; page on with `after: events.at(-1)`. */
  listAuditEvents(organizationId: string, page: AuditPage): Promise<AuditEvent[]>
  /**
   * Makes the account (a host user's, from `tenancy.accounts.link`, or any other) a member with
   * `role` (`admin`, `member` or a custom role; ownership moves only by transfer).
   * `AlreadyMemberError` if it is one.
   */
  addMember(organizationId: string, member: { accountId: string; role: string }): Promise<Member>
  /** Gives a member another role (not `owner`: ownership moves by `transferOwnership`). */
  changeRole(organizationId: string, membershipId: string, role: string): Promise<Member>
  /** Removes a member; their sessions end at once. The owner cannot be removed: transfer first. */
  removeMember(organizationId: string, membershipId: string): Promise<void>
  /** Makes the member the owner; the former owner becomes an admin. */
  transferOwnership(organizationId: string, membershipId: string): Promise<Member>
  /** Renames the organization or changes its slug (the old slug stops resolving at once). */
  updateOrganization(
    organizationId: string,
    changes: { name?: string; slug?: string; metadata?: Record<string, unknown> },
  ): Promise<Organization>
  /**
   * Deletes the organization, its members, invitations, domains and data, as its owner's
   * `orgs.delete` does (`beforeDelete` included); its tokens stop at once.
   */
  deleteOrganization(organizationId: string): Promise<void>
  /**
   * Suspends the organization: its members' tokens, refreshes, logins and host-user requests
   * answer 403 `ORGANIZATION_SUSPENDED` from the very next request, `forEachTenant` skips it, and
   * nothing of it is removed. `resume` gives everything back.
   */
  suspend(organizationId: string, options: { reason: string }): Promise<void>
  /**
   * Ends a suspension. The organization's data space is first brought up to the store's
   * migrations (provisioned again), in case a deploy came while it was suspended.
   */
  resume(organizationId: string): Promise<void>
}

const listSchema = z.object({ after: z.string().optional(), limit: z.number().int().min(1).max(1000).default(100) })

const actorLabel = z.string().trim().min(1).max(100)

const addMemberSchema = z.object({ accountId: z.string().min(1), role: z.string().min(1).max(32) })

const updateSchema = z.object({
  name: fields.organizationName.optional(),
  slug: slug.optional(),
  metadata: z.unknown().optional(),
})

export function tenancyAdmin(
  store: Store,
  services: {
    domains: OrganizationDomains
    audit: AuditLog
    roles: Roles
    members: MemberService
    teardown: OrganizationTeardown
    cache: TenantCache
    reservedSlugs: ReadonlySet<string>
    checkMetadata: (value: unknown) => Record<string, unknown>
    limits: Limits
  },
  actor = 'system',
): TenancyAdmin {
  const { domains, audit, roles, members, teardown, cache, reservedSlugs, checkMetadata, limits } = services
  const serving = async (organizationId: string) => {
    const org =
      typeof organizationId === 'string' ? await store.records.organizations.find({ id: organizationId }) : null
    if (org?.state !== 'active' && org?.state !== 'suspended')
      throw new OrganizationNotFoundError('no organization has this id')
    return org
  }
  const transition = async (organizationId: string, from: 'active' | 'suspended', to: 'active' | 'suspended') => {
    const org = await serving(organizationId)
    const moved = await store.records.organizations
      .transition(org.id, { from: [from], to })
      .finally(() => cache.invalidateOrganization(org.id))
    if (!moved) throw new ValidationError([{ pointer: '#', detail: `the organization is not ${from}` }])
  }
  return Object.freeze({
    as: (label: string) => tenancyAdmin(store, services, parseInput(actorLabel, label)),
    async listOrganizations(options: { after?: string | null; limit?: number } = {}) {
      const { after, limit } = parseInput(listSchema, { ...options, after: options.after ?? undefined })
      const organizations: Organization[] = []
      for await (const org of store.records.organizations.list({ afterId: after })) {
        if (org.state !== 'active' && org.state !== 'suspended') continue
        // One more than asked for tells whether there is a next page.
        if (organizations.length === limit) return { organizations, next: organizations.at(-1)!.id }
        organizations.push(toOrganization(org))
      }
      return { organizations, next: null }
    },
    addDomain: (organizationId: string, domain: string) => domains.add(organizationId, domain),
    removeDomain: (organizationId: string, domain: string) => domains.remove(organizationId, domain),
    listDomains: (organizationId: string) => domains.list(organizationId),
    listAuditEvents: (organizationId: string, page: AuditPage) => audit.listFor(organizationId, page),
    async addMember(organizationId: string, member: { accountId: string; role: string }): Promise<Member> {
      const { accountId, role } = parseInput(addMemberSchema, member)
      if (!roles.assignable(role))
        throw new ValidationError([{ pointer: '#/role', detail: 'is not a role that can be given' }])
      const [org, account] = await Promise.all([
        store.records.organizations.find({ id: organizationId }),
        store.records.accounts.find({ id: accountId }),
      ])
      if (org?.state !== 'active') throw new OrganizationNotFoundError('no organization has this id')
      if (!account) throw new ValidationError([{ pointer: '#/accountId', detail: 'no account has this id' }])
      const now = new Date()
      const record = { id: newId(), accountId, organizationId, role, createdAt: now, updatedAt: now }
      await limits.insertMembership(record)
      await audit.record({
        type: 'member.added',
        organizationId,
        details: { membershipId: record.id, role, actor },
      })
      return { id: record.id, accountId, organizationId, email: account.email, role, createdAt: now }
    },
    changeRole: (organizationId: string, membershipId: string, role: string) =>
      members.changeRole(systemActor(organizationId, actor), membershipId, role),
    removeMember: (organizationId: string, membershipId: string) =>
      members.remove(systemActor(organizationId, actor), membershipId),
    transferOwnership: (organizationId: string, membershipId: string) =>
      members.transferOwnership(systemActor(organizationId, actor), membershipId),
    async updateOrganization(
      organizationId: string,
      changes: { name?: string; slug?: string; metadata?: Record<string, unknown> },
    ) {
      const org = await serving(organizationId)
      const patch = organizationPatch(org, parseInput(updateSchema, changes), { reservedSlugs, checkMetadata })
      if (Object.keys(patch).length === 0) return toOrganization(org)
      const updated = await store.records.organizations
        .update(org.id, { ...patch, updatedAt: new Date() })
        .finally(() => cache.invalidateOrganization(org.id))
      if (!updated) throw new OrganizationNotFoundError('no organization has this id')
      await audit.record({
        type: 'organization.updated',
        organizationId: org.id,
        details: {
          renamed: patch.name !== undefined,
          reslugged: patch.slug !== undefined,
          metadataChanged: patch.metadata !== undefined,
          actor,
        },
      })
      return toOrganization(updated)
    },
    async deleteOrganization(organizationId: string) {
      const org = await serving(organizationId)
      await teardown.deleteActive(org, ['active', 'suspended'])
      await audit.record({
        type: 'organization.deleted',
        organizationId: org.id,
        details: { name: org.name, actor },
      })
    },
    async suspend(organizationId: string, options: { reason: string }) {
      const { reason } = parseInput(z.object({ reason: z.string().trim().min(1).max(500) }), options ?? {})
      await transition(organizationId, 'active', 'suspended')
      await audit.record({ type: 'organization.suspended', organizationId, details: { reason, actor } })
    },
    async resume(organizationId: string) {
      const org = await serving(organizationId)
      // A deploy may have come while it was suspended: its data space catches up before it serves.
      if (org.state === 'suspended') await store.data.provision(org)
      await transition(organizationId, 'suspended', 'active')
      await audit.record({ type: 'organization.resumed', organizationId, details: { actor } })
    },
  })
}
