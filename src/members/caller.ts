import { NotAMemberError, OrganizationNotFoundError } from '../errors.js'
import type { Store } from '../store.js'
import type { MembershipRecord, OrganizationRecord } from '../control/records.js'
import type { MemberTenant } from '../tenant.js'
import { effectiveRole } from './roles.js'

/** Who is acting: the organization, the caller's membership and role, as the store has them now. */
export interface Caller {
  org: OrganizationRecord
  membership: MembershipRecord
  role: string
}

/**
 * The caller's organization, membership and role read from the store, not taken from the token:
 * every check that changes something decides on current data. `OrganizationNotFoundError` if the
 * organization is gone, `NotAMemberError` if the caller is no longer a member of it.
 */
export async function loadCaller(store: Store, tenant: Pick<MemberTenant, 'id' | 'member'>): Promise<Caller> {
  if (typeof tenant?.member?.id !== 'string') throw new NotAMemberError('only a member of the organization may do this')
  const [org, membership] = await Promise.all([
    store.records.organizations.find({ id: tenant.id }),
    store.records.memberships.find({ id: tenant.member.id }),
  ])
  if (org?.state !== 'active') throw new OrganizationNotFoundError('the organization no longer exists')
  if (membership?.organizationId !== org.id || membership.accountId !== tenant.member.accountId)
    throw new NotAMemberError('only a member of this organization may do this')
  return { org, membership, role: effectiveRole(org, membership.id, membership.role) }
}

// Only `systemActor` makes one: a host cannot hand a service a back-office caller.
const SYSTEM = Symbol('tenantry.system')

/** The back office acting on an organization: the owner's rights, no membership of its own. */
export interface SystemActor {
  readonly id: string
  readonly [SYSTEM]: string
}

/** `tenancy.admin`'s caller for an organization, audited as `label` (default `'system'`). */
export function systemActor(organizationId: string, label = 'system'): SystemActor {
  return Object.freeze({ id: organizationId, [SYSTEM]: label })
}

/** Who acts on an organization: one of its members, or the back office. */
export type Acting = Pick<MemberTenant, 'id' | 'member'> | SystemActor

/** A caller that may be the back office: `membership` is then `null` and `actor` its audit label. */
export interface Actor {
  org: OrganizationRecord
  membership: MembershipRecord | null
  role: string
  actor: string | undefined
}

/** `loadCaller` for anyone who may act on an organization; the back office acts with the owner's rights. */
export async function loadActor(store: Store, acting: Acting): Promise<Actor> {
  if (typeof acting === 'object' && acting !== null && SYSTEM in acting) {
    const org = await store.records.organizations.find({ id: acting.id })
    // The back office also acts on a suspended organization (the members see it as suspended).
    if (org?.state !== 'active' && org?.state !== 'suspended')
      throw new OrganizationNotFoundError('no organization has this id')
    return { org, membership: null, role: 'owner', actor: acting[SYSTEM] }
  }
  return { ...(await loadCaller(store, acting)), actor: undefined }
}
