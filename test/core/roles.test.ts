import { describe, expect, it } from 'vitest'
import { BUILT_IN_ROLES, createTenancy, memoryStore, ORGANIZATION_PERMISSIONS, type MemberTenant } from 'tenantry'
import { refusal } from '../support/refusal.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

/** A tenancy with custom roles, and one member per role. */
async function team(roles: Record<string, string[]>, members: string[]) {
  const tenancy = createTenancy({ auth: TEST_AUTH, roles })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  const owner = await tenancy.authenticate(
    (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
  )
  const byRole: Record<string, MemberTenant> = { owner }
  for (const role of members) {
    const { token } = await tenancy.invitations.invite(owner, { email: `${role}@acme.test`, role })
    byRole[role] = await tenancy.authenticate(
      (await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken,
    )
  }
  return { tenancy, byRole }
}

describe('roles and permissions', () => {
  it('names the built-in roles and tenantry’s own permissions', () => {
    expect(BUILT_IN_ROLES).toEqual(['owner', 'admin', 'member'])
    expect(ORGANIZATION_PERMISSIONS).toEqual([
      'org:update',
      'org:delete',
      'members:read',
      'members:invite',
      'members:update',
      'members:remove',
      'audit:read',
      'domains:manage',
    ])
  })

  it('gives the owner everything, an admin everything but org:delete, a member only what roles.member lists, a custom role only its own', async () => {
    const { tenancy, byRole } = await team(
      { member: ['notes:read'], editor: ['notes:read', 'notes:write', 'members:invite'] },
      ['admin', 'member', 'editor'],
    )
    const can = (role: string, permission: string) => tenancy.members.can(byRole[role]!, permission)
    for (const permission of [...ORGANIZATION_PERMISSIONS, 'billing:refund'])
      expect(can('owner', permission), permission).toBe(true)
    for (const permission of ORGANIZATION_PERMISSIONS)
      expect(can('admin', permission), permission).toBe(permission !== 'org:delete')
    expect(can('admin', 'billing:refund')).toBe(true)
    expect([can('member', 'notes:read'), can('member', 'notes:write'), can('member', 'members:read')]).toEqual([
      true,
      false,
      false,
    ])
    expect([
      can('editor', 'notes:write'),
      can('editor', 'members:invite'),
      can('editor', 'members:read'),
      can('editor', 'org:update'),
    ]).toEqual([true, true, false, false])
  })

  it('ranks custom roles between admin and member: an editor with members:invite invites members, never editors or admins', async () => {
    const { tenancy, byRole } = await team({ editor: ['members:invite'] }, ['editor'])
    await expect(
      tenancy.invitations.invite(byRole.editor!, { email: 'm@acme.test', role: 'member' }),
    ).resolves.toMatchObject({ invitation: { role: 'member' } })
    for (const role of ['editor', 'admin'])
      await expect(
        tenancy.invitations.invite(byRole.editor!, { email: `${role}2@acme.test`, role }),
      ).rejects.toMatchObject({ code: 'PERMISSION_DENIED' })
    await expect(
      tenancy.invitations.invite(byRole.owner!, { email: 'x@acme.test', role: 'owner' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(
      tenancy.invitations.invite(byRole.owner!, { email: 'x@acme.test', role: 'auditor' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('lets the owner give any role but owner, and an admin only roles below admin', async () => {
    const { tenancy, byRole } = await team({ editor: [] }, ['admin', 'member'])
    await expect(tenancy.members.changeRole(byRole.owner!, byRole.member!.member.id, 'admin')).resolves.toMatchObject({
      role: 'admin',
    })
    await expect(tenancy.members.changeRole(byRole.owner!, byRole.admin!.member.id, 'editor')).resolves.toMatchObject({
      role: 'editor',
    })
    const { byRole: fresh, tenancy: other } = await team({ editor: [] }, ['admin', 'member'])
    await expect(other.members.changeRole(fresh.admin!, fresh.member!.member.id, 'editor')).resolves.toMatchObject({
      role: 'editor',
    })
    await expect(other.members.changeRole(fresh.admin!, fresh.member!.member.id, 'admin')).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    })
  })

  it('refuses bad role definitions at start-up, saying what is wrong', () => {
    const refuse = (roles: unknown, message: RegExp) =>
      expect(() => createTenancy({ auth: TEST_AUTH, roles: roles as never })).toThrow(message)
    refuse(['editor'], /roles must be an object/)
    refuse(null, /roles must be an object/)
    refuse({ Editor: ['notes:read'] }, /role name "Editor" must be lower-case/)
    refuse({ ['x'.repeat(33)]: ['notes:read'] }, /role name/)
    refuse({ '1st': ['notes:read'] }, /role name/)
    refuse({ owner: [] }, /the owner role is built in/)
    refuse({ admin: [] }, /the admin role is built in/)
    refuse({ editor: 'notes:read' }, /role editor needs a list of permissions named area:action/)
    refuse({ editor: ['notes'] }, /role editor needs a list of permissions/)
    refuse({ editor: ['Notes:read'] }, /role editor needs a list of permissions/)
    refuse({ editor: [':read'] }, /role editor needs a list of permissions/)
    refuse({ editor: ['notes:'] }, /role editor needs a list of permissions/)
    refuse({ editor: ['notes:read extra'] }, /role editor needs a list of permissions/)
    refuse({ editor: [42] }, /role editor needs a list of permissions/)
    // Not a string, though it reads as one.
    refuse({ editor: [['notes:read']] }, /role editor needs a list of permissions/)
    expect(() =>
      createTenancy({
        auth: TEST_AUTH,
        roles: { editor: ['notes:read', 'notes:*', 'billing.v2:refund-all'], member: [], 'qa_lead-2': [] },
      }),
    ).not.toThrow()
    expect(() => createTenancy({ auth: TEST_AUTH, roles: { ['x'.repeat(32)]: [] } })).not.toThrow()
  })

  it('refuses to check a permission that is not named area:action', async () => {
    const { tenancy, byRole } = await team({}, [])
    for (const bad of ['notes', 'Notes:read', 'notes:read ', '', ':read'])
      expect(() => tenancy.members.can(byRole.owner!, bad), bad).toThrow(/is not a permission; name it area:action/)
    expect(() => tenancy.members.can(byRole.owner!, ['notes:read'] as never)).toThrow(
      /is not a permission; name it area:action/,
    )
  })

  it('ranks a member with members:invite level with the members they would invite: they may not', async () => {
    const { tenancy, byRole } = await team({ member: ['members:invite'] }, ['member'])
    expect(await refusal(tenancy.invitations.invite(byRole.member!, { email: 'm2@acme.test', role: 'member' }))).toBe(
      'PERMISSION_DENIED a member may not invite a member',
    )
  })

  it('gives a role the app no longer defines no permission, and lets its holders be reassigned or removed', async () => {
    const store = memoryStore()
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store,
      roles: { auditor: ['audit:read'], editor: ['members:remove'] },
    })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
    )
    const join = async (email: string, role: string) => {
      const { token } = await tenancy.invitations.invite(owner, { email, role })
      return (await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken
    }
    const auditors = [
      await join('a1@acme.test', 'auditor'),
      await join('a2@acme.test', 'auditor'),
      await join('a3@acme.test', 'auditor'),
      await join('a4@acme.test', 'auditor'),
    ]
    const admin = await join('admin@acme.test', 'admin')
    const editor = await join('editor@acme.test', 'editor')
    const member = await join('member@acme.test', 'member')
    // The app restarts without the auditor role; four memberships still hold it.
    const restarted = createTenancy({ auth: TEST_AUTH, store, roles: { editor: ['members:remove'] } })
    const [first, second, third, fourth] = await Promise.all(auditors.map((token) => restarted.authenticate(token)))
    expect(restarted.members.can(first!, 'audit:read')).toBe(false)
    const asOwner = await restarted.authenticate(
      (await restarted.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
    )
    await expect(restarted.members.changeRole(asOwner, first!.member.id, 'member')).resolves.toMatchObject({
      role: 'member',
    })
    await restarted.members.remove(await restarted.authenticate(admin), second!.member.id)
    // Even a custom role allowed to remove members ranks above it, and so does a member allowed to.
    await restarted.members.remove(await restarted.authenticate(editor), third!.member.id)
    const withMemberRemoving = createTenancy({ auth: TEST_AUTH, store, roles: { member: ['members:remove'] } })
    await withMemberRemoving.members.remove(await withMemberRemoving.authenticate(member), fourth!.member.id)
    expect((await restarted.members.list(asOwner)).map((member) => member.role).sort()).toEqual([
      'admin',
      'editor',
      'member',
      'member',
      'owner',
    ])
  })
})
