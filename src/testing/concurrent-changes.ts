import { describe, expect, it } from 'vitest'
import { LimitReachedError } from '../errors.js'
import type { Store } from '../store.js'
import { createTenancy, type Tenancy } from '../tenancy.js'
import { PASSWORD, TEST_AUTH } from './test-auth.js'
import { type StoreUnderTest, migrated } from './subjects.js'

// The record methods that return an async iterable rather than a promise: passed through as they are.
const ITERATORS = new Set(['organizations.list', 'memberships.walk'])

/**
 * The store, with every record step first yielding to the event loop 0 to 3 times (`random`
 * decides): the steps of concurrent calls interleave differently in every round.
 */
function shuffled(store: Store, random: () => number): Store {
  const records: Record<string, unknown> = {}
  for (const [group, methods] of Object.entries(store.records)) {
    if (typeof methods !== 'object' || methods === null) continue
    const wrapped: Record<string, unknown> = {}
    for (const [name, method] of Object.entries(methods as Record<string, (...args: unknown[]) => unknown>)) {
      if (typeof method !== 'function') continue
      const bound = method.bind(methods)
      wrapped[name] = ITERATORS.has(`${group}.${name}`)
        ? bound
        : async (...args: unknown[]) => {
            for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((resolve) => setImmediate(resolve))
            return bound(...args)
          }
    }
    records[group] = wrapped
  }
  if (store.records.transaction) records.transaction = store.records.transaction.bind(store.records)
  return { records: records as unknown as Store['records'], data: store.data }
}

/** A small seeded generator: a failing round names its seed, and replays with it. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

/**
 * What must hold however concurrent requests interleave on the store: one owner per
 * organization, and `limits` never passed. Needs no transactions of the store, only its
 * contract: the core orders and checks the steps.
 */
export function describeConcurrentChanges(given: StoreUnderTest): void {
  const subject = migrated(given)
  describe('concurrent changes over it', () => {
    it('keeps exactly one owner, whose membership exists, under 50 random interleavings of transfer, removal and leave', async () => {
      for (let round = 1; round <= 50; round++) {
        const store = shuffled(await subject.create(), seeded(round))
        const tenancy = createTenancy({ auth: TEST_AUTH, store })
        const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
        const signIn = async (email: string) =>
          tenancy.authenticate((await tenancy.auth.login({ email, password: PASSWORD })).accessToken)
        const owner = await signIn('a@acme.test')
        const { token } = await tenancy.invitations.invite(owner, { email: 'm@acme.test', role: 'admin' })
        await tenancy.invitations.accept({ token, password: PASSWORD })
        const member = await signIn('m@acme.test')
        await Promise.allSettled([
          tenancy.members.transferOwnership(owner, member.member.id),
          tenancy.members.remove(owner, member.member.id),
          tenancy.members.leave(member),
        ])
        const org = (await store.records.organizations.find({ id: organization.id }))!
        const ownerMembership = await store.records.memberships.find({ id: org.ownerId })
        expect(ownerMembership?.organizationId, `round ${round}`).toBe(organization.id)
        // And that owner can still act for it.
        const acting = {
          id: organization.id,
          member: { id: org.ownerId, accountId: ownerMembership!.accountId, role: 'owner' },
        }
        const members = await tenancy.members.list(acting)
        expect(
          members.filter((one) => one.role === 'owner'),
          `round ${round}`,
        ).toHaveLength(1)
      }
      // 50 fresh stores: a networked one needs longer than a single test usually gets.
    }, 180_000)

    /** A host user's organization, its owner acting, over a store that shuffles concurrent steps. */
    async function hostOrganization(store: Store, limits?: Parameters<typeof createTenancy>[0]['limits']) {
      const tenancy = createTenancy({ auth: TEST_AUTH, store, limits })
      const { organization, owner } = await tenancy.orgs.create({ name: 'Acme', owner: { subject: 'owner' } })
      const acting = { id: organization.id, member: { id: owner.id, accountId: owner.accountId, role: 'owner' } }
      return { tenancy, organization, acting }
    }

    const refusedByLimit = (results: PromiseSettledResult<unknown>[]) => {
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(LimitReachedError)
      return results.filter((result) => result.status === 'fulfilled').length
    }

    it('never lets 20 concurrent accepts pass membersPerOrganization, and leaves each refused invitation pending', async () => {
      const store = shuffled(await subject.create(), seeded(7))
      // Invited before the limit was set (or by another instance): more invitations than seats.
      const unlimited = await hostOrganization(store)
      const tokens: string[] = []
      for (let i = 0; i < 20; i++)
        tokens.push(
          (await unlimited.tenancy.invitations.invite(unlimited.acting, { email: `m${i}@x.test`, role: 'member' }))
            .token,
        )
      const tenancy = createTenancy({ auth: TEST_AUTH, store, limits: { membersPerOrganization: 5 } })
      const results = await Promise.allSettled(
        tokens.map((token, i) => tenancy.invitations.accept({ token, subject: `m${i}`, email: `m${i}@x.test` })),
      )
      const accepted = refusedByLimit(results)
      expect(accepted).toBeGreaterThanOrEqual(1)
      const members = await store.records.memberships.list({ organizationId: unlimited.organization.id })
      expect(members.length).toBe(1 + accepted)
      expect(members.length).toBeLessThanOrEqual(5)
      expect(await store.records.invitations.list(unlimited.organization.id)).toHaveLength(20 - accepted)
    })

    it('never lets 20 concurrent invitations pass membersPerOrganization, counting pending ones', async () => {
      const store = shuffled(await subject.create(), seeded(11))
      const { tenancy, organization, acting } = await hostOrganization(store, { membersPerOrganization: 4 })
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          tenancy.invitations.invite(acting, { email: `m${i}@x.test`, role: 'member' }),
        ),
      )
      const invited = refusedByLimit(results)
      expect(invited).toBeGreaterThanOrEqual(1)
      const pending = await store.records.invitations.list(organization.id)
      expect(pending).toHaveLength(invited)
      expect(1 + pending.length).toBeLessThanOrEqual(4)
    })

    it('never lets 20 concurrent back-office additions pass membersPerOrganization', async () => {
      const store = shuffled(await subject.create(), seeded(13))
      const { tenancy, organization } = await hostOrganization(store, { membersPerOrganization: 3 })
      const accounts = await Promise.all(
        Array.from({ length: 20 }, (_, i) => tenancy.accounts.link({ subject: `user-${i}` })),
      )
      const results = await Promise.allSettled(
        accounts.map((account) => tenancy.admin.addMember(organization.id, { accountId: account.id, role: 'member' })),
      )
      const added = refusedByLimit(results)
      expect(added).toBeGreaterThanOrEqual(1)
      expect(await store.records.memberships.list({ organizationId: organization.id })).toHaveLength(1 + added)
      expect(1 + added).toBeLessThanOrEqual(3)
    })

    it('never lets 20 concurrent creates by one account pass organizationsPerAccount, and leaves no trace of the refused', async () => {
      const store = shuffled(await subject.create(), seeded(17))
      const tenancy: Tenancy = createTenancy({ auth: TEST_AUTH, store, limits: { organizationsPerAccount: 3 } })
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => tenancy.orgs.create({ name: `Org ${i}`, owner: { subject: 'busy' } })),
      )
      const created = refusedByLimit(results)
      expect(created).toBeGreaterThanOrEqual(1)
      expect(created).toBeLessThanOrEqual(3)
      const account = await tenancy.accounts.find('busy')
      expect(await store.records.memberships.list({ accountId: account!.id })).toHaveLength(created)
      const left = await Promise.all(Array.from({ length: 20 }, (_, i) => tenancy.orgs.get(`Org ${i}`)))
      expect(left.filter((org) => org !== null)).toHaveLength(created)
    })
  })
}
