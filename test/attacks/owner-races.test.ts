import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Store } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

/** A memory store whose every record step first yields the event loop 0 to 3 times: the steps of concurrent calls interleave at random. */
function shuffledStore(random: () => number): Store {
  const base = memoryStore()
  const records: Record<string, unknown> = {}
  for (const [group, methods] of Object.entries(base.records)) {
    const wrapped: Record<string, unknown> = {}
    for (const [name, method] of Object.entries(methods as Record<string, (...args: unknown[]) => unknown>)) {
      wrapped[name] =
        name === 'list' && group === 'organizations'
          ? method
          : async (...args: unknown[]) => {
              for (let i = Math.floor(random() * 4); i > 0; i--) await new Promise((resolve) => setImmediate(resolve))
              return method(...args)
            }
    }
    records[group] = wrapped
  }
  return { records: records as unknown as Store['records'], data: base.data }
}

/** A small seeded generator, so a failing round can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

describe('ownership under concurrent changes', () => {
  it('keeps exactly one owner, whose membership exists, under 50 random interleavings of transfer, removal and leave', async () => {
    for (let round = 1; round <= 50; round++) {
      const store = shuffledStore(seeded(round))
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
      expect(await tenancy.members.list(acting), `round ${round}`).toContainEqual(
        expect.objectContaining({ role: 'owner' }),
      )
    }
  })
})
