import { describe, expect, it } from 'vitest'
import { createTenancy, errors, type MemberTenant } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const { PermissionDeniedError, NotAMemberError } = errors

/** Acme with its owner, a plain member and an auditor (a custom role that may read the audit trail); Globex beside it. */
async function acme() {
  const tenancy = createTenancy({ auth: TEST_AUTH, roles: { auditor: ['audit:read'] } })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  await tenancy.orgs.create({ name: 'Globex', email: 'owner@globex.test', password: PASSWORD })
  const signIn = async (email: string) =>
    tenancy.authenticate((await tenancy.auth.login({ email, password: PASSWORD })).accessToken)
  const owner = await signIn('owner@acme.test')
  const join = async (email: string, role: string): Promise<MemberTenant> => {
    const { token } = await tenancy.invitations.invite(owner, { email, role })
    await tenancy.invitations.accept({ token, password: PASSWORD })
    return signIn(email)
  }
  return {
    tenancy,
    owner,
    member: await join('member@acme.test', 'member'),
    auditor: await join('auditor@acme.test', 'auditor'),
    globexOwner: await signIn('owner@globex.test'),
  }
}

describe('the trust boundary', () => {
  it('lets a member manage custom domains only with domains:manage, in the service itself', async () => {
    const { tenancy, owner, member } = await acme()
    await expect(tenancy.orgs.addDomain(member, 'shop.acme.com')).rejects.toBeInstanceOf(PermissionDeniedError)
    await expect(tenancy.orgs.listDomains(member)).rejects.toBeInstanceOf(PermissionDeniedError)
    expect(await tenancy.orgs.addDomain(owner, 'shop.acme.com')).toMatchObject({ domain: 'shop.acme.com' })
    await expect(tenancy.orgs.removeDomain(member, 'shop.acme.com')).rejects.toBeInstanceOf(PermissionDeniedError)
    expect(await tenancy.orgs.listDomains(owner)).toEqual([{ domain: 'shop.acme.com', createdAt: expect.any(Date) }])
    expect((await tenancy.tenant({ domain: 'shop.acme.com' })).id).toBe(owner.id)
  })

  it('acts on the caller’s own organization only, whatever tenant id a hand-made caller claims', async () => {
    const { tenancy, owner, globexOwner } = await acme()
    const forged = { id: owner.id, member: globexOwner.member }
    await expect(tenancy.orgs.addDomain(forged, 'stolen.acme.com')).rejects.toBeInstanceOf(NotAMemberError)
    await expect(tenancy.audit.list(forged, { limit: 10 })).rejects.toBeInstanceOf(NotAMemberError)
    await expect(tenancy.tenant({ domain: 'stolen.acme.com' })).rejects.toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
    })
  })

  it('lets a member read the audit trail only with audit:read, and only their own organization’s', async () => {
    const { tenancy, owner, member, auditor } = await acme()
    await expect(tenancy.audit.list(member, { limit: 10 })).rejects.toBeInstanceOf(PermissionDeniedError)
    const events = await tenancy.audit.list(auditor, { limit: 100 })
    expect(events.map((event) => event.type)).toContain('organization.created')
    expect(events.every((event) => event.organizationId === owner.id)).toBe(true)
  })

  it('keeps the back office by organization id, without an acting member, and audited', async () => {
    const { tenancy, owner } = await acme()
    expect(await tenancy.admin.addDomain(owner.id, 'support.acme.com')).toMatchObject({ domain: 'support.acme.com' })
    expect((await tenancy.admin.listDomains(owner.id)).map((entry) => entry.domain)).toEqual(['support.acme.com'])
    const [latest] = await tenancy.admin.listAuditEvents(owner.id, { limit: 1 })
    expect(latest).toMatchObject({ type: 'domain.added', accountId: null, details: { domain: 'support.acme.com' } })
    await tenancy.admin.removeDomain(owner.id, 'support.acme.com')
    const { organizations } = await tenancy.admin.listOrganizations()
    expect(organizations.map((organization) => organization.name).sort()).toEqual(['Acme', 'Globex'])
  })

  it('offers one way to each job: no store, registry or second permission check on the tenancy', async () => {
    const { tenancy } = await acme()
    for (const hatch of ['store', 'registry', 'can']) expect(hatch in tenancy, hatch).toBe(false)
    for (const job of ['list', 'migrate', 'recover']) expect(job in tenancy.orgs, job).toBe(false)
    expect(Object.keys(tenancy.audit)).toEqual(['list'])
    expect(Object.isFrozen(tenancy)).toBe(true)
  })
})
