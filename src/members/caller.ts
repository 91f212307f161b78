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
