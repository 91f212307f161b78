import { describe, expect, it } from 'vitest'
import { BUILT_IN_ROLES, createTenancy, ORGANIZATION_PERMISSIONS, type MemberTenant } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

/** A tenancy with custom roles, and one member per role. */
async function team(roles: Record<string, string[]>, members: string[]) {
  const tenancy = createTenancy({ auth: TEST_AUTH, roles })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  const owner = await tenancy.registry.resolve((await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken)
  const byRole: Record<string, MemberTenant> = { owner }
  for (const role of members) {
    const { token } = await tenancy.invitations.invite(owner, { email: `${role}@acme.test`, role })
    byRole[role] = await tenancy.registry.resolve((await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken)
  }
  return { tenancy, byRole }
}

describe('roles and permissions', () => {
  it('names the built-in roles and tenantry’s own permissions', () => {
    expect(BUILT_IN_ROLES).toEqual(['owner', 'admin', 'member'])
    expect(ORGANIZATION_PERMISSIONS).toEqual(['org:update', 'org:delete', 'members:read', 'members:invite', 'members:update', 'members:remove', 'audit:read', 'domains:manage'])
  })

  it('gives the owner everything, an admin everything but org:delete, a member only what roles.member lists, a custom role only its own', async () => {
    const { tenancy, byRole } = await team({ member: ['notes:read'], editor: ['notes:read', 'notes:write', 'members:invite'] }, ['admin', 'member', 'editor'])
    const can = (role: string, permission: string) => tenancy.can(byRole[role]!, permission)
    for (const permission of [...ORGANIZATION_PERMISSIONS, 'billing:refund']) expect(can('owner', permission), permission).toBe(true)
    for (const permission of ORGANIZATION_PERMISSIONS) expect(can('admin', permission), permission).toBe(permission !== 'org:delete')
    expect(can('admin', 'billing:refund')).toBe(true)
    expect([can('member', 'notes:read'), can('member', 'notes:write'), can('member', 'members:read')]).toEqual([true, false, false])
    expect([can('editor', 'notes:write'), can('editor', 'members:invite'), can('editor', 'members:read'), can('editor', 'org:update')]).toEqual([true, true, false, false])
  })

  it('ranks custom roles between admin and member: an editor with members:invite invites members, never editors or admins', async () => {
    const { tenancy, byRole } = await team({ editor: ['members:invite'] }, ['editor'])
    await expect(tenancy.invitations.invite(byRole.editor!, { email: 'm@acme.test', role: 'member' })).resolves.toMatchObject({ invitation: { role: 'member' } })
    for (const role of ['editor', 'admin']) await expect(tenancy.invitations.invite(byRole.editor!, { email: `${role}2@acme.test`, role })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' })
    await expect(tenancy.invitations.invite(byRole.owner!, { email: 'x@acme.test', role: 'owner' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(tenancy.invitations.invite(byRole.owner!, { email: 'x@acme.test', role: 'auditor' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })

  it('lets the owner give any role but owner, and an admin only roles below admin', async () => {
    const { tenancy, byRole } = await team({ editor: [] }, ['admin', 'member'])
    await expect(tenancy.members.changeRole(byRole.owner!, byRole.member!.member.id, 'admin')).resolves.toMatchObject({ role: 'admin' })
    await expect(tenancy.members.changeRole(byRole.owner!, byRole.admin!.member.id, 'editor')).resolves.toMatchObject({ role: 'editor' })
    const { byRole: fresh, tenancy: other } = await team({ editor: [] }, ['admin', 'member'])
    await expect(other.members.changeRole(fresh.admin!, fresh.member!.member.id, 'editor')).resolves.toMatchObject({ role: 'editor' })
    await expect(other.members.changeRole(fresh.admin!, fresh.member!.member.id, 'admin')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' })
  })

  it('refuses bad role definitions at start-up, saying what is wrong', () => {
    const refuse = (roles: unknown, message: RegExp) => expect(() => createTenancy({ auth: TEST_AUTH, roles: roles as never })).toThrow(message)
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
    expect(() => createTenancy({ auth: TEST_AUTH, roles: { editor: ['notes:read', 'notes:*', 'billing.v2:refund-all'], member: [], 'qa_lead-2': [] } })).not.toThrow()
    expect(() => createTenancy({ auth: TEST_AUTH, roles: { ['x'.repeat(32)]: [] } })).not.toThrow()
  })

  it('refuses to check a permission that is not named area:action', async () => {
    const { tenancy, byRole } = await team({}, [])
    for (const bad of ['notes', 'Notes:read', 'notes:read ', '', ':read']) expect(() => tenancy.can(byRole.owner!, bad), bad).toThrow(/is not a permission; name it area:action/)
  })
})
