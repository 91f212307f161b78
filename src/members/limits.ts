import { setTimeout as sleep } from 'node:timers/promises'
import type { TenantCache } from '../context/tenant-cache.js'
import type { InvitationRecord, MembershipRecord } from '../control/records.js'
import { LimitReachedError, type LimitName } from '../errors.js'
import type { Store } from '../store.js'

/** `createTenancy({ limits })`: caps a store keeps under any number of concurrent requests. */
export interface LimitOptions {
  /** Members an organization may have, its owner included. Pending invitations count against it when inviting. */
  membersPerOrganization?: number
  /** Organizations an account may belong to, whether it created or joined them. */
  organizationsPerAccount?: number
}

const ATTEMPTS = 5

/**
 * Enforces `limits` with what every store has (insert, list, delete), no lock: a row is inserted,
 * then counted, and taken back if the count passes the limit. Every row that stays was counted
 * after every other row that stays was inserted, so no interleaving ends above a limit. A row
 * taken back while there is room again (it lost to concurrent ones) is retried after a short,
 * random wait.
 */
export class Limits {
  readonly #store: Store
  readonly #cache: TenantCache
  readonly #members: number | undefined
  readonly #organizations: number | undefined

  constructor(store: Store, cache: TenantCache, options: LimitOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('tenantry: limits must be an object')
    for (const name of ['membersPerOrganization', 'organizationsPerAccount'] as const) {
      const value = options[name]
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1))
        throw new TypeError(`tenantry: limits.${name} must be a whole number of at least 1`)
    }
    this.#store = store
    this.#cache = cache
    this.#members = options.membersPerOrganization
    this.#organizations = options.organizationsPerAccount
  }

  /** Inserts the membership, or throws `LimitReachedError` with nothing inserted. */
  async insertMembership(membership: MembershipRecord): Promise<void> {
    const { memberships } = this.#store.records
    const counts: Count[] = []
    if (this.#members !== undefined) {
      const max = this.#members
      counts.push(async () => ({
        name: 'membersPerOrganization',
        max,
        count: (await memberships.list({ organizationId: membership.organizationId })).length,
      }))
    }
    if (this.#organizations !== undefined) {
      const max = this.#organizations
      counts.push(async () => ({
        name: 'organizationsPerAccount',
        max,
        count: (await memberships.list({ accountId: membership.accountId })).length,
      }))
    }
    await admit(counts, {
      insert: () => memberships.insert(membership),
      // Taken back before anyone was told of it; a host user's lookup may have cached it meanwhile.
      remove: async () => {
        await memberships.delete(membership.id, membership.organizationId)
        this.#cache.invalidateMembership(membership.id)
      },
    })
  }

  /** Inserts the invitation unless members and pending invitations would pass `membersPerOrganization`. */
  async insertInvitation(invitation: InvitationRecord): Promise<void> {
    const { memberships, invitations } = this.#store.records
    const max = this.#members
    const counts: Count[] = []
    if (max !== undefined)
      counts.push(async () => {
        const now = Date.now()
        const [members, pending] = await Promise.all([
          memberships.list({ organizationId: invitation.organizationId }),
          invitations.list(invitation.organizationId),
        ])
        const count = members.length + pending.filter((one) => one.expiresAt.getTime() > now).length
        return { name: 'membersPerOrganization', max, count }
      })
    await admit(counts, {
      insert: () => invitations.insert(invitation),
      remove: () => invitations.delete(invitation.id, invitation.organizationId),
    })
  }
}

type Count = () => Promise<{ name: LimitName; max: number; count: number }>

async function admit(
  counts: Count[],
  row: { insert: () => Promise<void>; remove: () => Promise<unknown> },
): Promise<void> {
  if (counts.length === 0) return row.insert()
  const measure = () => Promise.all(counts.map((count) => count()))
  for (let attempt = 1; ; attempt++) {
    const full = (await measure()).find((one) => one.count >= one.max)
    if (full) throw new LimitReachedError(full.name, full.max)
    await row.insert()
    const over = (await measure()).find((one) => one.count > one.max)
    if (!over) return
    await row.remove()
    // It lost to concurrent rows, some of which may be taken back too: look again after a short, random wait.
    if (attempt === ATTEMPTS) throw new LimitReachedError(over.name, over.max)
    await sleep(Math.random() * 20 * attempt)
  }
}
