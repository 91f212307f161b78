import { expect, it } from 'vitest'
import { addMember } from '../support/members.js'
import { describeAttack } from './host.js'
import { storeOf } from '../support/store-of.js'

describeAttack('a member reaching for a role at or above their own', (host) => {
  async function team() {
    const acme = await host().tenant('Acme')
    const admin = await addMember(host().send, acme.accessToken, 'admin@team.test', 'admin')
    const otherAdmin = await addMember(host().send, acme.accessToken, 'other-admin@team.test', 'admin')
    const editor = await addMember(host().send, acme.accessToken, 'editor@team.test', 'editor')
    const member = await addMember(host().send, acme.accessToken, 'member@team.test', 'member')
    const ownerId = (await storeOf(host().tenancy).records.organizations.find({ id: acme.id }))!.ownerId
    return { acme, admin, otherAdmin, editor, member, ownerId }
  }
  const patch = (token: string, id: string, role: string) =>
    host().send('PATCH', `/org/members/${id}`, { json: { role }, token })

  it('cannot grant owner, or a role at their own rank, through PATCH', async () => {
    const { admin, member, otherAdmin } = await team()
    expect((await patch(admin.accessToken, member.memberId, 'owner')).status).toBe(400)
    expect((await patch(admin.accessToken, member.memberId, 'admin')).status).toBe(403)
    expect((await patch(admin.accessToken, otherAdmin.memberId, 'member')).status).toBe(403)
    expect((await patch(admin.accessToken, member.memberId, 'editor')).status).toBe(200)
  })

  it('cannot change the owner’s role, nor their own', async () => {
    const { admin, ownerId, acme } = await team()
    expect((await patch(admin.accessToken, ownerId, 'member')).status).toBe(403)
    expect((await patch(admin.accessToken, admin.memberId, 'member')).status).toBe(403)
    // Not even the owner changes their own role: ownership moves only by transfer.
    expect((await patch(acme.accessToken, ownerId, 'admin')).status).toBe(403)
  })

  it('cannot remove someone at or above their own rank', async () => {
    const { admin, otherAdmin, ownerId } = await team()
    expect(
      (await host().send('DELETE', `/org/members/${otherAdmin.memberId}`, { token: admin.accessToken })).status,
    ).toBe(403)
    expect((await host().send('DELETE', `/org/members/${ownerId}`, { token: admin.accessToken })).status).toBe(403)
    expect((await host().send('GET', '/notes', { token: otherAdmin.accessToken })).status).toBe(200)
  })

  it('cannot invite to a role at or above their own, nor as owner', async () => {
    const { admin, editor, member } = await team()
    const invite = (token: string, role: string) =>
      host().send('POST', '/org/invitations', { json: { email: `new-${role}@team.test`, role }, token })
    expect((await invite(admin.accessToken, 'admin')).status).toBe(403)
    expect((await invite(admin.accessToken, 'owner')).status).toBe(400)
    expect((await invite(editor.accessToken, 'member')).status).toBe(403)
    expect((await invite(member.accessToken, 'member')).status).toBe(403)
    expect((await invite(admin.accessToken, 'editor')).status).toBe(201)
    expect(
      (
        await storeOf(host().tenancy).records.invitations.list(
          (
            await host().tenancy.authenticate(admin.accessToken)
          ).id,
        )
      ).map((invitation) => invitation.role),
    ).toEqual(['editor'])
  })

  it('cannot keep using a role they were just demoted from', async () => {
    const { acme, editor } = await team()
    expect((await patch(acme.accessToken, editor.memberId, 'member')).status).toBe(200)
    expect(
      (await host().send('POST', '/notes', { json: { text: 'as an editor still?' }, token: editor.accessToken }))
        .status,
    ).toBe(401)
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: editor.refreshToken } })).status).toBe(
      401,
    )
  })
})
