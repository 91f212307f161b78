import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type MemberTenant } from 'tenantry'
import { holdNextRead } from '../support/hold-next-read.js'
import { refusal } from '../support/refusal.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

/** Acme with an owner, an admin, an editor (custom role) and a member; Globex with its own owner. */
async function acme() {
  const tenancy = createTenancy({ auth: TEST_AUTH, roles: { editor: ['notes:write'] } })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  await tenancy.orgs.create({ name: 'Globex', email: 'owner@globex.test', password: PASSWORD })
  const login = async (email: string) =>
    tenancy.authenticate((await tenancy.auth.login({ email, password: PASSWORD })).accessToken)
  const owner = await login('owner@acme.test')
  const globex = await login('owner@globex.test')
  const join = async (email: string, role: string): Promise<MemberTenant> => {
    const { token } = await tenancy.invitations.invite(owner, { email, role })
    return tenancy.authenticate((await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken)
  }
  const admin = await join('admin@acme.test', 'admin')
  const editor = await join('editor@acme.test', 'editor')
  const member = await join('member@acme.test', 'member')
  const audit = () => tenancy.admin.listAuditEvents(owner.id, { limit: 100 })
  return { tenancy, owner, admin, editor, member, globex, join, audit }
}

describe('member changes', () => {
  it('says why it refuses each role change', async () => {
    const { tenancy, owner, admin, editor, member } = await acme()
    const change = (by: MemberTenant, target: MemberTenant, role: string) =>
      refusal(tenancy.members.changeRole(by, target.member.id, role))
    expect(await change(owner, admin, 'owner')).toBe(
      'VALIDATION_FAILED #/role ownership moves only by POST /org/transfer-ownership',
    )
    expect(await change(owner, admin, 'auditor')).toBe('VALIDATION_FAILED #/role is not a role of this app')
    expect(await change(admin, admin, 'member')).toBe('PERMISSION_DENIED nobody changes their own role')
    expect(await change(owner, owner, 'admin')).toBe('PERMISSION_DENIED nobody changes their own role')
    expect(await change(admin, owner, 'member')).toBe('PERMISSION_DENIED a admin may not change the role of a owner')
    expect(await change(admin, member, 'admin')).toBe('PERMISSION_DENIED a admin may not give the admin role')
    expect(await change(editor, member, 'editor')).toBe('PERMISSION_DENIED this needs the members:update permission')
    expect(await refusal(tenancy.members.changeRole(owner, 'no-such-member', 'member'))).toBe(
      'MEMBER_NOT_FOUND this organization has no member with this id',
    )
    expect(await refusal(tenancy.members.changeRole(owner, '', 'member'))).toMatch(/^VALIDATION_FAILED #\/id /)
  })

  it('changes a role below the caller’s own, and records who changed it from what to what', async () => {
    const { tenancy, admin, member, audit } = await acme()
    expect(await tenancy.members.changeRole(admin, member.member.id, 'editor')).toMatchObject({
      id: member.member.id,
      email: 'member@acme.test',
      role: 'editor',
    })
    expect((await audit()).find((event) => event.type === 'member.role_changed')).toMatchObject({
      accountId: admin.member.accountId,
      details: { memberId: member.member.id, from: 'member', to: 'editor' },
    })
  })

  it('says why it refuses each removal', async () => {
    const { tenancy, owner, admin, editor, member, globex } = await acme()
    const remove = (by: MemberTenant, target: MemberTenant) => refusal(tenancy.members.remove(by, target.member.id))
    expect(await remove(admin, admin)).toBe('PERMISSION_DENIED to remove yourself, leave the organization')
    expect(await remove(admin, owner)).toBe(
      'PERMISSION_DENIED the owner cannot be removed; ownership must be transferred first',
    )
    expect(await remove(editor, member)).toBe('PERMISSION_DENIED this needs the members:remove permission')
    const otherAdmin = await tenancy.members.changeRole(owner, editor.member.id, 'admin')
    expect(await refusal(tenancy.members.remove(admin, otherAdmin.id))).toBe(
      'PERMISSION_DENIED a admin may not remove a admin',
    )
    expect(await remove(owner, globex)).toBe('MEMBER_NOT_FOUND this organization has no member with this id')
    expect(await remove(globex, member)).toBe('MEMBER_NOT_FOUND this organization has no member with this id')
  })

  it('removes an account with its last membership, and keeps one that belongs elsewhere too', async () => {
    const { tenancy, owner, admin, member, join, audit } = await acme()
    const shared = await join('owner@globex.test', 'member')
    await tenancy.members.remove(admin, member.member.id)
    await tenancy.members.remove(owner, shared.member.id)
    expect(await storeOf(tenancy).records.accounts.find({ id: member.member.accountId })).toBeNull()
    expect(await storeOf(tenancy).records.accounts.find({ id: shared.member.accountId })).not.toBeNull()
    await expect(tenancy.auth.login({ email: 'member@acme.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    expect((await audit()).filter((event) => event.type === 'member.removed').map((event) => event.details)).toEqual(
      expect.arrayContaining([{ memberId: member.member.id }, { memberId: shared.member.id }]),
    )
  })

  it('lets a member leave, ending their account if it was their last membership; the owner may not', async () => {
    const { tenancy, owner, member, audit } = await acme()
    expect(await refusal(tenancy.members.leave(owner))).toBe(
      'PERMISSION_DENIED the owner cannot leave; transfer ownership first',
    )
    await tenancy.members.leave(member)
    expect(await storeOf(tenancy).records.memberships.find({ id: member.member.id })).toBeNull()
    expect(await storeOf(tenancy).records.accounts.find({ id: member.member.accountId })).toBeNull()
    expect((await audit()).find((event) => event.type === 'member.left')).toMatchObject({
      accountId: member.member.accountId,
      details: { memberId: member.member.id },
    })
    expect(await refusal(tenancy.members.leave(member))).toBe(
      'NOT_ORGANIZATION_ADMIN only a member of this organization may do this',
    )
  })

  it('says why it refuses a transfer of ownership', async () => {
    const { tenancy, owner, admin, globex } = await acme()
    expect(await refusal(tenancy.members.transferOwnership(admin, owner.member.id))).toBe(
      'PERMISSION_DENIED only the owner may transfer ownership',
    )
    expect(await refusal(tenancy.members.transferOwnership(owner, owner.member.id))).toBe(
      'VALIDATION_FAILED #/member_id is already the owner',
    )
    expect(await refusal(tenancy.members.transferOwnership(owner, globex.member.id))).toBe(
      'MEMBER_NOT_FOUND this organization has no member with this id',
    )
  })

  it('makes the new owner the owner and the former owner an admin, ending both sessions, and records it', async () => {
    const { tenancy, owner, admin, audit } = await acme()
    const before = await tenancy.auth.login({ email: 'admin@acme.test', password: PASSWORD })
    expect(await tenancy.members.transferOwnership(owner, admin.member.id)).toMatchObject({
      id: admin.member.id,
      role: 'owner',
    })
    const roles = Object.fromEntries(
      (
        await tenancy.members.list(
          await tenancy.authenticate(
            (await tenancy.auth.login({ email: 'admin@acme.test', password: PASSWORD })).accessToken,
          ),
        )
      ).map((m) => [m.email, m.role]),
    )
    expect(roles).toMatchObject({ 'owner@acme.test': 'admin', 'admin@acme.test': 'owner' })
    expect((await storeOf(tenancy).records.memberships.find({ id: owner.member.id }))?.role).toBe('admin')
    await expect(tenancy.authenticate(before.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
    await expect(tenancy.auth.refresh(before.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
    expect((await audit()).find((event) => event.type === 'ownership.transferred')).toMatchObject({
      accountId: owner.member.accountId,
      details: { from: owner.member.id, to: admin.member.id },
    })
  })

  it('makes a former owner an admin whatever role they joined with', async () => {
    const { tenancy, owner, admin, member } = await acme()
    await tenancy.members.transferOwnership(owner, member.member.id)
    // The member, owner now, hands ownership on: they were stored as a member and become an admin.
    const newOwner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'member@acme.test', password: PASSWORD })).accessToken,
    )
    await tenancy.members.transferOwnership(newOwner, admin.member.id)
    expect((await storeOf(tenancy).records.memberships.find({ id: member.member.id }))?.role).toBe('admin')
    const asMember = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'member@acme.test', password: PASSWORD })).accessToken,
    )
    expect(asMember.member.role).toBe('admin')
  })

  it('tells a transfer that lost to one made at the same moment that ownership changed meanwhile', async () => {
    const store = memoryStore()
    const tenancy = createTenancy({ auth: TEST_AUTH, store })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
    )
    const join = async (email: string) => {
      const { token } = await tenancy.invitations.invite(owner, { email, role: 'admin' })
      return tenancy.authenticate((await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken)
    }
    const [first, second] = [await join('first@acme.test'), await join('second@acme.test')]
    // The losing transfer has read the organization (the caller still its owner) before the winner writes.
    const { reached, release } = holdNextRead(store, 'organizations.find')
    const losing = tenancy.members.transferOwnership(owner, second.member.id)
    await reached
    await tenancy.members.transferOwnership(owner, first.member.id)
    release()
    expect(await refusal(losing)).toBe('PERMISSION_DENIED ownership changed meanwhile; only the owner may transfer it')
    expect((await store.records.organizations.find({ id: owner.id }))?.ownerId).toBe(first.member.id)
  })

  it('lists each member with its account’s email and current role', async () => {
    const { tenancy, owner, admin, editor, member } = await acme()
    const listed = await tenancy.members.list(admin)
    expect(listed.map((m) => [m.email, m.role, m.organizationId === owner.id, m.accountId]).sort()).toEqual(
      [
        ['admin@acme.test', 'admin', true, admin.member.accountId],
        ['editor@acme.test', 'editor', true, editor.member.accountId],
        ['member@acme.test', 'member', true, member.member.accountId],
        ['owner@acme.test', 'owner', true, owner.member.accountId],
      ].sort(),
    )
    expect(await refusal(tenancy.members.list(member))).toBe('PERMISSION_DENIED this needs the members:read permission')
    // A host that passes no tenant at all gets the same clear refusal, not a TypeError.
    for (const nobody of [undefined, null, {}])
      expect(await refusal(tenancy.members.list(nobody as never))).toBe(
        'NOT_ORGANIZATION_ADMIN only a member of the organization may do this',
      )
  })

  it('decides two concurrent role changes of one member on the role both read: one lands, the other says to read again', async () => {
    const { tenancy, owner, member } = await acme()
    const results = await Promise.allSettled([
      tenancy.members.changeRole(owner, member.member.id, 'admin'),
      tenancy.members.changeRole(owner, member.member.id, 'editor'),
    ])
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((result): result is PromiseRejectedResult => result.status === 'rejected')!.reason
    expect(refused).toMatchObject({
      code: 'MEMBER_NOT_FOUND',
      message: 'the member changed or left meanwhile; read it again',
    })
  })

  it('removes a member once when two remove them at once', async () => {
    const { tenancy, owner, admin, member } = await acme()
    const results = await Promise.allSettled([
      tenancy.members.remove(owner, member.member.id),
      tenancy.members.remove(admin, member.member.id),
    ])
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    expect(
      results.find((result): result is PromiseRejectedResult => result.status === 'rejected')!.reason,
    ).toMatchObject({ code: 'MEMBER_NOT_FOUND', message: 'this organization has no member with this id' })
  })

  it('ends the sessions of a member whose role changed: their refresh token stops at once', async () => {
    const { tenancy, owner, member } = await acme()
    const { refreshToken } = await tenancy.auth.login({ email: 'member@acme.test', password: PASSWORD })
    await tenancy.members.changeRole(owner, member.member.id, 'editor')
    await expect(tenancy.auth.refresh(refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
    const { accessToken } = await tenancy.auth.login({ email: 'member@acme.test', password: PASSWORD })
    expect((await tenancy.authenticate(accessToken)).member.role).toBe('editor')
  })

  it('refuses ids and roles past their length limits as invalid input', async () => {
    const { tenancy, owner, member } = await acme()
    expect(await refusal(tenancy.members.changeRole(owner, 'x'.repeat(201), 'member'))).toMatch(
      /^VALIDATION_FAILED #\/id /,
    )
    expect(await refusal(tenancy.members.changeRole(owner, member.member.id, 'r'.repeat(33)))).toMatch(
      /^VALIDATION_FAILED #\/role /,
    )
    expect(await refusal(tenancy.members.remove(owner, 'x'.repeat(201)))).toMatch(/^VALIDATION_FAILED #\/id /)
    expect(await refusal(tenancy.members.transferOwnership(owner, 'x'.repeat(201)))).toMatch(
      /^VALIDATION_FAILED #\/id /,
    )
    expect(await refusal(tenancy.members.changeRole(owner, 'x'.repeat(200), 'member'))).toMatch(/^MEMBER_NOT_FOUND/)
  })

  it('leaves out of the list a membership whose account record is gone', async () => {
    const { tenancy, owner, member } = await acme()
    await storeOf(tenancy).records.accounts.delete(member.member.accountId)
    expect((await tenancy.members.list(owner)).map((m) => m.email).sort()).toEqual([
      'admin@acme.test',
      'editor@acme.test',
      'owner@acme.test',
    ])
  })

  it('says which name is not a permission', async () => {
    const { tenancy, owner } = await acme()
    expect(() => tenancy.members.can(owner, 'not a permission')).toThrow(
      `tenantry: "not a permission" is not a permission; name it area:action, such as 'notes:write'`,
    )
    expect(tenancy.members.can(undefined as never, 'notes:write')).toBe(false)
    // Asked again, it is still refused: only well-formed names are remembered.
    expect(() => tenancy.members.can(owner, 'not a permission')).toThrow(TypeError)
  })
})
