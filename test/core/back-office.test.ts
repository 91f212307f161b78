import { describe, expect, it } from 'vitest'
import { createTenancy, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const { PermissionDeniedError, OrganizationNotFoundError, ValidationError } = errors

async function acme() {
  const tenancy = createTenancy({ auth: TEST_AUTH })
  const { organization, owner } = await tenancy.orgs.create({
    name: 'Acme',
    email: 'owner@acme.test',
    password: PASSWORD,
  })
  const bob = await tenancy.accounts.link({ subject: 'host-bob', email: 'bob@acme.test' })
  const member = await tenancy.admin.addMember(organization.id, { accountId: bob.id, role: 'member' })
  const events = async () => tenancy.admin.listAuditEvents(organization.id, { limit: 50 })
  return { tenancy, organization, owner, member, events }
}

describe('the back office, tenancy.admin', () => {
  it('changes roles, transfers ownership and removes members by organization id, audited as the system', async () => {
    const { tenancy, organization, owner, member, events } = await acme()
    expect(await tenancy.admin.changeRole(organization.id, member.id, 'admin')).toMatchObject({ role: 'admin' })
    expect(await tenancy.admin.transferOwnership(organization.id, member.id)).toMatchObject({ role: 'owner' })
    await tenancy.admin.removeMember(organization.id, owner.id)
    const trail = await events()
    for (const type of ['member.role_changed', 'ownership.transferred', 'member.removed'])
      expect(
        trail.find((event) => event.type === type),
        type,
      ).toMatchObject({ accountId: null, details: { actor: 'system' } })
    // The former owner's password login now finds no organization.
    await expect(tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
  })

  it('audits every change under the label the host gives with admin.as, and refuses an empty label', async () => {
    const { tenancy, organization, member, events } = await acme()
    const support = tenancy.admin.as('support:jane@host.test')
    await support.changeRole(organization.id, member.id, 'admin')
    await support.suspend(organization.id, { reason: 'chargeback' })
    await support.resume(organization.id)
    await support.updateOrganization(organization.id, { name: 'Acme Inc' })
    await support.removeMember(organization.id, member.id)
    const trail = await events()
    for (const type of [
      'member.role_changed',
      'organization.suspended',
      'organization.resumed',
      'organization.updated',
      'member.removed',
    ])
      expect(
        trail.find((event) => event.type === type),
        type,
      ).toMatchObject({ accountId: null, details: { actor: 'support:jane@host.test' } })
    // The plain back office still says 'system'.
    await tenancy.admin.updateOrganization(organization.id, { name: 'Acme' })
    const updates = (await events()).filter((event) => event.type === 'organization.updated')
    expect(updates.map((event) => event.details.actor).sort()).toEqual(['support:jane@host.test', 'system'])
    for (const label of ['', '   ', 'x'.repeat(101)]) expect(() => tenancy.admin.as(label)).toThrow(ValidationError)
  })

  it('keeps the rules that hold for members: the owner is not removed or re-roled, and no one is made owner by a role', async () => {
    const { tenancy, organization, owner, member } = await acme()
    await expect(tenancy.admin.removeMember(organization.id, owner.id)).rejects.toBeInstanceOf(PermissionDeniedError)
    await expect(tenancy.admin.changeRole(organization.id, member.id, 'owner')).rejects.toBeInstanceOf(ValidationError)
    await expect(tenancy.admin.changeRole(organization.id, owner.id, 'member')).rejects.toBeInstanceOf(
      PermissionDeniedError,
    )
    await expect(
      tenancy.admin.addMember(organization.id, { accountId: owner.accountId, role: 'member' }),
    ).rejects.toMatchObject({
      code: 'ALREADY_A_MEMBER',
    })
  })

  it('acts only on the organization it names: another organization’s membership is not found there', async () => {
    const { tenancy, member } = await acme()
    const { organization: globex } = await tenancy.orgs.create({
      name: 'Globex',
      email: 'g@globex.test',
      password: PASSWORD,
    })
    await expect(tenancy.admin.removeMember(globex.id, member.id)).rejects.toMatchObject({ code: 'MEMBER_NOT_FOUND' })
    await expect(tenancy.admin.changeRole('no-such-organization', member.id, 'admin')).rejects.toBeInstanceOf(
      OrganizationNotFoundError,
    )
  })

  it('renames, reslugs and deletes an organization without an acting member', async () => {
    const { tenancy, organization } = await acme()
    expect(
      await tenancy.admin.updateOrganization(organization.id, { name: 'Acme Corp', slug: 'acme-corp' }),
    ).toMatchObject({ name: 'Acme Corp', slug: 'acme-corp' })
    await expect(tenancy.tenant({ slug: 'acme' })).rejects.toBeInstanceOf(OrganizationNotFoundError)
    await expect(tenancy.admin.updateOrganization(organization.id, { slug: 'www' })).rejects.toBeInstanceOf(
      ValidationError,
    )
    await tenancy.admin.deleteOrganization(organization.id)
    await expect(tenancy.tenant({ id: organization.id })).rejects.toBeInstanceOf(OrganizationNotFoundError)
    await expect(tenancy.admin.deleteOrganization(organization.id)).rejects.toBeInstanceOf(OrganizationNotFoundError)
    expect((await tenancy.admin.listOrganizations()).organizations).toEqual([])
  })
})
