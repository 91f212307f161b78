import { z } from 'zod'
import type { AuditLog } from '../control/audit-log.js'
import { removeAccountIfUnused } from '../auth/unused-account.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { MemberNotFoundError, PermissionDeniedError, ValidationError } from '../errors.js'
import { parseInput } from '../lib/parse-input.js'
import type { Member } from '../control/organization-types.js'
import type { Store } from '../store.js'
import type { MembershipRecord, OrganizationRecord } from '../control/records.js'
import type { MemberTenant, Tenant } from '../tenant.js'
import { type Acting, type Actor, loadActor, loadCaller } from './caller.js'
import { effectiveRole, Roles } from './roles.js'

const memberId = z.string().min(1).max(200)

/**
 * An organization's members: listing, role changes, removal, leaving and ownership transfer.
 * Every rule is checked here, on current data (never on the role a token claimed), so no route
 * and no direct call can get around it:
 * - exactly one owner, always: ownership is the organization's `ownerId`, moved by one
 *   conditional write;
 * - nobody assigns, changes or removes a role at or above their own, except the owner, and
 *   nobody changes their own role;
 * - a membership of another organization is not found here;
 * - the owner cannot leave or be removed;
 * - a changed or removed membership's sessions end at once.
 */
export class MemberService {
  readonly #store: Store
  readonly #cache: TenantCache
  readonly #audit: AuditLog
  readonly #roles: Roles
  // Permission names already found well formed; bounded, so made-up names cannot grow it.
  readonly #checked = new Set<string>()

  constructor(store: Store, options: { cache: TenantCache; audit: AuditLog; roles: Roles }) {
    this.#store = store
    this.#cache = options.cache
    this.#audit = options.audit
    this.#roles = options.roles
  }

  /**
   * Whether the tenant's caller holds `permission` (`notes:write`, `members:invite`, ...), by the
   * role in its token, which the registry has just checked is still current. A tenant identified
   * without a token (host, resolver) has no member, and no permission.
   */
  can(tenant: Tenant, permission: string): boolean {
    // Checked once per name: tenantScope calls this on every request with the same few permissions.
    if (!this.#checked.has(permission) && !Roles.isPermission(permission))
      throw new TypeError(
        `tenantry: ${JSON.stringify(permission)} is not a permission; name it area:action, such as 'notes:write'`,
      )
    // Stryker disable next-line ConditionalExpression,EqualityOperator: caching a name costs a regex test only
    if (this.#checked.size < 1024) this.#checked.add(permission)
    const role = tenant?.member?.role
    // Stryker disable next-line ConditionalExpression: a missing role is no role
    return typeof role === 'string' && this.#roles.can(role, permission)
  }

  /** The organization's members, by membership id. Needs `members:read`. */
  async list(tenant: Acting): Promise<Member[]> {
    const caller = await this.#authorize(tenant, 'members:read')
    const memberships = await this.#store.records.memberships.list({ organizationId: caller.org.id })
    return (await Promise.all(memberships.map((membership) => this.#member(caller.org, membership)))).filter(
      (member) => member !== null,
    )
  }

  /** Gives a member another role. Needs `members:update`, and a rank above both the member's role and the new one (the owner may give any but `owner`). */
  async changeRole(tenant: Acting, id: string, role: string): Promise<Member> {
    const input = parseInput(z.object({ id: memberId, role: z.string().min(1).max(32) }), { id, role })
    const caller = await this.#authorize(tenant, 'members:update')
    if (!this.#roles.assignable(input.role)) {
      throw new ValidationError([
        {
          pointer: '#/role',
          detail:
            input.role === 'owner'
              ? 'ownership moves only by POST /org/transfer-ownership'
              : 'is not a role of this app',
        },
      ])
    }
    const target = await this.#target(caller, input.id)
    if (target.membership.id === caller.membership?.id) throw new PermissionDeniedError('nobody changes their own role')
    if (!this.#roles.mayManage(caller.role, target.role))
      throw new PermissionDeniedError(`a ${caller.role} may not change the role of a ${target.role}`)
    if (!this.#roles.mayManage(caller.role, input.role))
      throw new PermissionDeniedError(`a ${caller.role} may not give the ${input.role} role`)
    // Conditional on the role just checked: two managers acting at once cannot both decide on a stale role.
    const updated = await this.#store.records.memberships.update(
      target.membership.id,
      { role: input.role, updatedAt: new Date() },
      { role: target.membership.role },
    )
    await this.#revoke(target.membership)
    if (!updated) throw new MemberNotFoundError('the member changed or left meanwhile; read it again')
    await this.#audit.record({
      type: 'member.role_changed',
      organizationId: caller.org.id,
      accountId: caller.membership?.accountId,
      details: { memberId: target.membership.id, from: target.role, to: input.role, ...actorOf(caller) },
    })
    return (await this.#member(caller.org, updated))!
  }

  /** Removes a member; their sessions here end at once. Needs `members:remove` and a rank above theirs. The owner cannot be removed. */
  async remove(tenant: Acting, id: string): Promise<void> {
    const input = parseInput(z.object({ id: memberId }), { id })
    const caller = await this.#authorize(tenant, 'members:remove')
    const target = await this.#target(caller, input.id)
    if (target.membership.id === caller.membership?.id)
      throw new PermissionDeniedError('to remove yourself, leave the organization')
    if (target.role === 'owner')
      throw new PermissionDeniedError('the owner cannot be removed; ownership must be transferred first')
    if (!this.#roles.mayManage(caller.role, target.role))
      throw new PermissionDeniedError(`a ${caller.role} may not remove a ${target.role}`)
    await this.#delete(caller.org, target.membership)
    await this.#audit.record({
      type: 'member.removed',
      organizationId: caller.org.id,
      accountId: caller.membership?.accountId,
      details: { memberId: target.membership.id, ...actorOf(caller) },
    })
  }

  /** Leaves the organization: the caller's membership and sessions here end. The owner must transfer ownership first. */
  async leave(tenant: Pick<MemberTenant, 'id' | 'member'>): Promise<void> {
    const caller = await loadCaller(this.#store, tenant)
    if (caller.role === 'owner') throw new PermissionDeniedError('the owner cannot leave; transfer ownership first')
    await this.#delete(caller.org, caller.membership)
    await this.#audit.record({
      type: 'member.left',
      organizationId: caller.org.id,
      accountId: caller.membership.accountId,
      details: { memberId: caller.membership.id },
    })
  }

  /**
   * Makes another member the owner; the caller (owner only) becomes an admin. One conditional
   * write of the organization's `ownerId` decides it, so of any number of concurrent transfers
   * at most one per current owner wins, and there is always exactly one owner.
   */
  async transferOwnership(tenant: Acting, id: string): Promise<Member> {
    const input = parseInput(z.object({ id: memberId }), { id })
    const caller = await loadActor(this.#store, tenant)
    if (caller.role !== 'owner') throw new PermissionDeniedError('only the owner may transfer ownership')
    const target = await this.#target(caller, input.id)
    const formerOwnerId = caller.org.ownerId
    if (target.membership.id === formerOwnerId)
      throw new ValidationError([{ pointer: '#/member_id', detail: 'is already the owner' }])
    const moved = await this.#store.records.organizations
      .update(caller.org.id, { ownerId: target.membership.id, updatedAt: new Date() }, { ownerId: formerOwnerId })
      .finally(() => this.#cache.invalidateOrganization(caller.org.id))
    if (!moved) throw new PermissionDeniedError('ownership changed meanwhile; only the owner may transfer it')
    // A removal or leave of the new owner that raced this write: give ownership back.
    if (!(await this.#store.records.memberships.find({ id: target.membership.id }))) {
      await this.#store.records.organizations
        .update(caller.org.id, { ownerId: formerOwnerId }, { ownerId: target.membership.id })
        .finally(() => this.#cache.invalidateOrganization(caller.org.id))
      throw new MemberNotFoundError('the member left or was removed meanwhile')
    }
    const former = caller.membership ?? (await this.#store.records.memberships.find({ id: formerOwnerId }))
    // Both roles changed: tokens carrying the old ones stop at once (the registry compares roles).
    await Promise.all([former && this.#revoke(former), this.#revoke(target.membership)])
    // The former owner's stored role is what they hold now: an admin.
    await this.#store.records.memberships.update(formerOwnerId, { role: 'admin', updatedAt: new Date() })
    this.#cache.invalidateMembership(formerOwnerId)
    await this.#audit.record({
      type: 'ownership.transferred',
      organizationId: caller.org.id,
      accountId: caller.membership?.accountId,
      details: { from: formerOwnerId, to: target.membership.id, ...actorOf(caller) },
    })
    return (await this.#member(moved, target.membership))!
  }

  async #authorize(tenant: Acting, permission: string): Promise<Actor> {
    const caller = await loadActor(this.#store, tenant)
    if (!this.#roles.can(caller.role, permission))
      throw new PermissionDeniedError(`this needs the ${permission} permission`)
    return caller
  }

  /** A membership of the caller's organization, with its role; one of any other organization is not found. */
  async #target(caller: Actor, id: string): Promise<{ membership: MembershipRecord; role: string }> {
    const membership = await this.#store.records.memberships.find({ id })
    if (membership?.organizationId !== caller.org.id)
      throw new MemberNotFoundError('this organization has no member with this id')
    return { membership, role: effectiveRole(caller.org, membership.id, membership.role) }
  }

  async #delete(org: OrganizationRecord, membership: MembershipRecord): Promise<void> {
    const deleted = await this.#store.records.memberships.delete(membership.id, org.id)
    if (!deleted) {
      await this.#revoke(membership)
      throw new MemberNotFoundError('this organization has no member with this id')
    }
    // A transfer to this member that raced the delete: the organization keeps its new owner.
    if ((await this.#store.records.organizations.find({ id: org.id }))?.ownerId === membership.id) {
      await this.#store.records.memberships.insert(membership)
      this.#cache.invalidateOrganization(org.id)
      throw new PermissionDeniedError('this member became the owner meanwhile; ownership must be transferred first')
    }
    await this.#revoke(membership)
    // An account that belonged only here goes with its last membership.
    await removeAccountIfUnused(this.#store, this.#cache, membership.accountId)
  }

  /** Ends the membership's sessions and drops it from every cache: its tokens stop on their next request. */
  async #revoke(membership: MembershipRecord): Promise<void> {
    this.#cache.invalidateMembership(membership.id)
    await this.#store.records.sessions.delete({ membershipId: membership.id })
  }

  async #member(org: Pick<OrganizationRecord, 'ownerId'>, membership: MembershipRecord): Promise<Member | null> {
    const account = await this.#store.records.accounts.find({ id: membership.accountId })
    if (!account) return null
    return {
      id: membership.id,
      accountId: account.id,
      organizationId: membership.organizationId,
      email: account.email,
      role: effectiveRole(org, membership.id, membership.role),
      createdAt: membership.createdAt,
    }
  }
}

/** What the audit trail says of a back-office change: who the host named as acting. */
function actorOf(caller: Actor): { actor?: string } {
  return caller.actor === undefined ? {} : { actor: caller.actor }
}
