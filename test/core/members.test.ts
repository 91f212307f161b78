import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type MemberTenant } from 'tenantry'
import { tenantScope } from 'tenantry/express'
import { failingStore } from 'tenantry/testing'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

async function setUp(store = memoryStore()) {
  const tenancy = createTenancy({ auth: TEST_AUTH, store, roles: { editor: ['notes:write'] } })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  const owner = await tenancy.authenticate(
    (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
  )
  const join = async (email: string, role: string): Promise<MemberTenant> => {
    const { token } = await tenancy.invitations.invite(owner, { email, role })
    const { tokens } = await tenancy.invitations.accept({ token, password: PASSWORD })
    return tenancy.authenticate(tokens.accessToken)
  }
  return { tenancy, owner, join }
}

describe('members, roles and ownership in the core', () => {
  it('lets exactly one of twenty concurrent transfers by the owner succeed, leaving one owner', async () => {
    const { tenancy, owner, join } = await setUp()
    const admins = []
    for (let i = 0; i < 20; i++) admins.push(await join(`admin${i}@acme.test`, 'admin'))
    // The same owner tenant for all twenty: each call re-reads the owner from the store, and only the conditional write decides.
    const results = await Promise.allSettled(
      admins.map((admin) => tenancy.members.transferOwnership(owner, admin.member.id)),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results)
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'PERMISSION_DENIED' })
    const roles = (
      await tenancy.members.list(
        await tenancy.authenticate(
          (await tenancy.auth.login({ email: 'admin0@acme.test', password: PASSWORD })).accessToken,
        ),
      )
    ).map((member) => member.role)
    expect(roles.filter((role) => role === 'owner')).toHaveLength(1)
  })

  it('refuses a token whose role changed even when ending its sessions failed', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner, join } = await setUp(failing.store)
    const editor = await join('ed@acme.test', 'editor')
    const { accessToken } = await tenancy.auth.login({ email: 'ed@acme.test', password: PASSWORD })
    await tenancy.authenticate(accessToken)
    failing.failNext('sessions.delete')
    await expect(tenancy.members.changeRole(owner, editor.member.id, 'member')).rejects.toThrow()
    await expect(tenancy.authenticate(accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
  })

  it('tells whether a tenant may do something by its token’s role, and a tenant without a member may do nothing', async () => {
    const { tenancy, owner, join } = await setUp()
    const editor = await join('ed@acme.test', 'editor')
    const member = await join('m@acme.test', 'member')
    expect(tenancy.members.can(owner, 'org:delete')).toBe(true)
    expect(tenancy.members.can(editor, 'notes:write')).toBe(true)
    expect(tenancy.members.can(editor, 'members:invite')).toBe(false)
    expect(tenancy.members.can(member, 'notes:write')).toBe(false)
    expect(tenancy.members.can(await tenancy.tenant({ id: owner.id }), 'notes:write')).toBe(false)
    expect(() => tenancy.members.can(owner, 'not a permission')).toThrow(TypeError)
  })

  it('gives an admin every permission but deleting the organization and ownership', async () => {
    const { tenancy, owner, join } = await setUp()
    const admin = await join('ad@acme.test', 'admin')
    expect(tenancy.members.can(admin, 'members:remove')).toBe(true)
    expect(tenancy.members.can(admin, 'notes:write')).toBe(true)
    expect(tenancy.members.can(admin, 'org:delete')).toBe(false)
    await expect(tenancy.orgs.delete(admin, 'Acme')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' })
    await expect(tenancy.members.transferOwnership(admin, admin.member.id)).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    })
    expect(tenancy.members.can(owner, 'org:delete')).toBe(true)
  })

  it('keeps the accounts’ other memberships when an organization is deleted, and removes the accounts it was the last of', async () => {
    const { tenancy, owner, join } = await setUp()
    await tenancy.orgs.create({ name: 'Globex', email: 'shared@x.test', password: PASSWORD })
    const shared = await join('shared@x.test', 'member')
    const onlyHere = await join('only@acme.test', 'member')
    await tenancy.invitations.invite(owner, { email: 'pending@acme.test', role: 'member' })
    await tenancy.orgs.delete(owner, 'Acme')
    expect(await storeOf(tenancy).records.memberships.list({ organizationId: owner.id })).toEqual([])
    expect(await storeOf(tenancy).records.invitations.list(owner.id)).toEqual([])
    expect(await storeOf(tenancy).records.accounts.find({ id: onlyHere.member.accountId })).toBeNull()
    expect(await storeOf(tenancy).records.memberships.list({ accountId: shared.member.accountId })).toHaveLength(1)
    await tenancy.auth.login({ email: 'shared@x.test', password: PASSWORD })
  })

  it('refuses bad roles and permissions at start-up with a TypeError that says what is wrong', () => {
    const bad: [unknown, string][] = [
      [[], "tenantry: roles must be an object such as { editor: ['notes:read', 'notes:write'] }"],
      [null, "tenantry: roles must be an object such as { editor: ['notes:read', 'notes:write'] }"],
      ['editor', "tenantry: roles must be an object such as { editor: ['notes:read', 'notes:write'] }"],
      [{ owner: [] }, 'tenantry: the owner role is built in and cannot be redefined'],
      [{ admin: ['x:y'] }, 'tenantry: the admin role is built in and cannot be redefined'],
      [
        { Editor: ['notes:write'] },
        'tenantry: role name "Editor" must be lower-case letters, digits, - or _ (up to 32)',
      ],
      [{ ['e'.repeat(33)]: ['notes:write'] }, 'must be lower-case letters, digits, - or _ (up to 32)'],
      [
        { editor: ['notes'] },
        "tenantry: role editor needs a list of permissions named area:action, such as 'notes:write'",
      ],
      [
        { editor: 'notes:write' },
        "tenantry: role editor needs a list of permissions named area:action, such as 'notes:write'",
      ],
      [{ editor: [7] }, "tenantry: role editor needs a list of permissions named area:action, such as 'notes:write'"],
    ]
    for (const [roles, message] of bad) {
      expect(() => createTenancy({ auth: TEST_AUTH, roles: roles as never }), JSON.stringify(roles)).toThrow(TypeError)
      expect(() => createTenancy({ auth: TEST_AUTH, roles: roles as never }), JSON.stringify(roles)).toThrow(message)
    }
    // Names as the rules allow them: letters, digits, - and _ after a first letter; in a
    // permission also dots, and * in the action.
    expect(() =>
      createTenancy({
        auth: TEST_AUTH,
        roles: { 'e-d_1': ['billing.v2:read', 'notes:*', 'notes:write-all', 'a_b-c:d.e_f'] },
      }),
    ).not.toThrow()
    for (const name of ['1editor', '-editor', 'edi tor', ' editor', 'editor ', 'éditor'])
      expect(() => createTenancy({ auth: TEST_AUTH, roles: { [name]: [] } }), name).toThrow(TypeError)
    for (const permission of [
      'Notes:write',
      '1notes:write',
      'notes:Write',
      'notes:1x',
      ' notes:write',
      'notes:write ',
      'notes:',
      ':write',
      'notes:write:all',
      'no tes:write',
      'notes:wri te',
    ]) {
      expect(() => createTenancy({ auth: TEST_AUTH, roles: { editor: [permission] } }), permission).toThrow(TypeError)
    }
    // The longest names the rules allow.
    expect(() =>
      createTenancy({ auth: TEST_AUTH, roles: { ['e'.repeat(32)]: [`${'a'.repeat(64)}:${'b'.repeat(64)}`] } }),
    ).not.toThrow()
    expect(() => createTenancy({ auth: TEST_AUTH, roles: { editor: [`${'a'.repeat(65)}:b`] } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: TEST_AUTH, roles: { editor: [`a:${'b'.repeat(65)}`] } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { lifetimeSeconds: 0 } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { onInvitation: 'mail' as never } })).toThrow(TypeError)
    const tenancy = createTenancy({ auth: TEST_AUTH })
    expect(() => tenantScope(tenancy, { permission: 'notes' })).toThrow(TypeError)
    expect(() =>
      tenantScope(tenancy, { from: (req) => ({ id: String(req.headers['x-org']) }), permission: 'notes:read' }),
    ).toThrow(TypeError)
  })

  it('cancels an invitation whose onInvitation hook throws, so none exists that nobody was told of', async () => {
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      invitations: {
        onInvitation: () => {
          throw new Error('mail server down')
        },
      },
    })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
    )
    await expect(tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })).rejects.toThrow(
      'mail server down',
    )
    expect(await tenancy.invitations.list(owner)).toEqual([])
  })

  it('decides on the store, not on a tenant object: a stale, forged or memberless tenant is refused by the core API', async () => {
    const { tenancy, owner, join } = await setUp()
    const removed = await join('gone@acme.test', 'admin')
    await tenancy.members.remove(owner, removed.member.id)
    // The object still says admin, but the membership is gone.
    await expect(tenancy.members.list(removed)).rejects.toMatchObject({ code: 'NOT_ORGANIZATION_ADMIN' })
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const globex = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'g@globex.test', password: PASSWORD })).accessToken,
    )
    // Globex's membership presented as Acme's, and Acme's id with a membership of another account.
    await expect(tenancy.members.list({ id: owner.id, member: globex.member })).rejects.toMatchObject({
      code: 'NOT_ORGANIZATION_ADMIN',
    })
    await expect(
      tenancy.members.list({ id: owner.id, member: { ...owner.member, accountId: globex.member.accountId } }),
    ).rejects.toMatchObject({ code: 'NOT_ORGANIZATION_ADMIN' })
    await expect(tenancy.members.list({ id: owner.id } as MemberTenant)).rejects.toThrow(
      'only a member of the organization may do this',
    )
    await expect(tenancy.members.list({ id: 'no-such-org', member: owner.member })).rejects.toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
      message: 'the organization no longer exists',
    })
    await expect(tenancy.members.list(owner)).resolves.toHaveLength(1)
  })
})
