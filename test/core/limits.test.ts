import { describe, expect, it } from 'vitest'
import { createTenancy, errors, memoryStore, type TenancyOptions } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

const { LimitReachedError } = errors

async function setUp(limits: TenancyOptions['limits']) {
  const tenancy = createTenancy({ auth: TEST_AUTH, store: memoryStore(), limits })
  const { organization, owner } = await tenancy.orgs.create({ name: 'Acme', owner: { subject: 'ada' } })
  const acting = { id: organization.id, member: { id: owner.id, accountId: owner.accountId, role: 'owner' } }
  return { tenancy, organization, acting, store: storeOf(tenancy) }
}

const limitReached = (limit: string, max: number) =>
  expect.objectContaining({ code: 'LIMIT_REACHED', limit, max }) as unknown

describe('limits', () => {
  it('refuses limits that are not whole numbers of at least 1 at start-up', () => {
    for (const limits of [
      { membersPerOrganization: 0 },
      { organizationsPerAccount: 1.5 },
      { membersPerOrganization: -1 },
    ])
      expect(() => createTenancy({ auth: TEST_AUTH, limits })).toThrow(TypeError)
  })

  it('counts pending invitations against membersPerOrganization, and lets a cancelled one free its seat', async () => {
    const { tenancy, acting, store, organization } = await setUp({ membersPerOrganization: 3 })
    const first = await tenancy.invitations.invite(acting, { email: 'b@x.test', role: 'member' })
    await tenancy.invitations.invite(acting, { email: 'c@x.test', role: 'member' })
    await expect(tenancy.invitations.invite(acting, { email: 'd@x.test', role: 'member' })).rejects.toEqual(
      limitReached('membersPerOrganization', 3),
    )
    expect(await store.records.invitations.list(organization.id)).toHaveLength(2)
    // Re-inviting a pending email replaces its invitation: no new seat.
    await tenancy.invitations.invite(acting, { email: 'c@x.test', role: 'member' })
    await tenancy.invitations.cancel(acting, first.invitation.id)
    await tenancy.invitations.invite(acting, { email: 'd@x.test', role: 'member' })
    expect(await store.records.invitations.list(organization.id)).toHaveLength(2)
  })

  it('refuses an accept past membersPerOrganization, keeps the invitation pending and makes no account', async () => {
    const { tenancy, acting, organization } = await setUp({ membersPerOrganization: 2 })
    const { token } = await tenancy.invitations.invite(acting, { email: 'b@x.test', role: 'member' })
    const bob = await tenancy.accounts.link({ subject: 'bob' })
    await tenancy.admin.addMember(organization.id, { accountId: bob.id, role: 'member' })
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).rejects.toEqual(
      limitReached('membersPerOrganization', 2),
    )
    await expect(tenancy.auth.login({ email: 'b@x.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    expect(await tenancy.invitations.list(acting)).toHaveLength(1)
    // A seat frees up: the same token works.
    const members = await tenancy.members.list(acting)
    await tenancy.admin.removeMember(organization.id, members.find((one) => one.accountId === bob.id)!.id)
    expect((await tenancy.invitations.accept({ token, password: PASSWORD })).member.role).toBe('member')
  })

  it('refuses a back-office addition past membersPerOrganization', async () => {
    const { tenancy, organization } = await setUp({ membersPerOrganization: 1 })
    const bob = await tenancy.accounts.link({ subject: 'bob' })
    await expect(
      tenancy.admin.addMember(organization.id, { accountId: bob.id, role: 'member' }),
    ).rejects.toBeInstanceOf(LimitReachedError)
  })

  it('refuses a create past organizationsPerAccount and leaves the name free', async () => {
    const { tenancy } = await setUp({ organizationsPerAccount: 1 })
    await expect(tenancy.orgs.create({ name: 'Globex', owner: { subject: 'ada' } })).rejects.toEqual(
      limitReached('organizationsPerAccount', 1),
    )
    expect(await tenancy.orgs.get('Globex')).toBeNull()
    // Another account may take it at once.
    expect((await tenancy.orgs.create({ name: 'Globex', owner: { subject: 'bob' } })).organization.name).toBe('Globex')
  })

  it('counts organizations joined by invitation against organizationsPerAccount', async () => {
    const { tenancy } = await setUp({ organizationsPerAccount: 1 })
    const globex = await tenancy.orgs.create({ name: 'Globex', owner: { subject: 'bob' } })
    const bobActing = { id: globex.organization.id, member: { ...globex.owner, role: 'owner' } }
    const { token } = await tenancy.invitations.invite(bobActing, { email: 'ada@x.test', role: 'member' })
    await expect(tenancy.invitations.accept({ token, subject: 'ada', email: 'ada@x.test' })).rejects.toEqual(
      limitReached('organizationsPerAccount', 1),
    )
    expect(await tenancy.members.list(bobActing)).toHaveLength(1)
  })

  it('limits nothing when no limits are given', async () => {
    const { tenancy, acting } = await setUp(undefined)
    for (let i = 0; i < 30; i++) await tenancy.invitations.invite(acting, { email: `m${i}@x.test`, role: 'member' })
    for (let i = 0; i < 10; i++) await tenancy.orgs.create({ name: `Org ${i}`, owner: { subject: 'ada' } })
    expect(await tenancy.invitations.list(acting)).toHaveLength(30)
  })
})
