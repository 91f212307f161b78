import { expect, it } from 'vitest'
import { addMember } from '../support/members.js'
import { describeAttack } from './host.js'
import { storeOf } from '../support/store-of.js'

describeAttack('a member of one organization using another’s member and invitation ids', (host) => {
  it('finds none of them: 404 everywhere, and nothing changes', async () => {
    const acme = await host().tenant('Acme')
    const globex = await host().tenant('Globex')
    const globexMember = await addMember(host().send, globex.accessToken, 'm@globex.test', 'member')
    const globexOwnerId = (await storeOf(host().tenancy).records.organizations.find({ id: globex.id }))!.ownerId
    const invitation = (
      await host().send('POST', '/org/invitations', {
        json: { email: 'pending@globex.test', role: 'member' },
        token: globex.accessToken,
      })
    ).body.invitation
    const before = await host().snapshot()
    const globexMembers = JSON.stringify(
      await storeOf(host().tenancy).records.memberships.list({ organizationId: globex.id }),
    )

    for (const id of [globexMember.memberId, globexOwnerId]) {
      expect(
        (await host().send('PATCH', `/org/members/${id}`, { json: { role: 'editor' }, token: acme.accessToken }))
          .status,
      ).toBe(404)
      expect((await host().send('DELETE', `/org/members/${id}`, { token: acme.accessToken })).status).toBe(404)
      expect(
        (await host().send('POST', '/org/transfer-ownership', { json: { member_id: id }, token: acme.accessToken }))
          .status,
      ).toBe(404)
    }
    expect((await host().send('DELETE', `/org/invitations/${invitation.id}`, { token: acme.accessToken })).status).toBe(
      404,
    )
    expect(
      (await host().send('GET', '/org/members', { token: acme.accessToken })).body.members.map(
        (member: { email: string }) => member.email,
      ),
    ).toEqual(['admin@acme.test'])
    expect((await host().send('GET', '/org/invitations', { token: acme.accessToken })).body.invitations).toEqual([])

    expect(await host().snapshot()).toBe(before)
    expect(JSON.stringify(await storeOf(host().tenancy).records.memberships.list({ organizationId: globex.id }))).toBe(
      globexMembers,
    )
    expect((await storeOf(host().tenancy).records.invitations.list(globex.id)).map((pending) => pending.id)).toEqual([
      invitation.id,
    ])
  })

  it('answers the same for another organization’s id as for one that never existed', async () => {
    const acme = await host().tenant('Acme')
    const globex = await host().tenant('Globex')
    const globexMember = await addMember(host().send, globex.accessToken, 'm@globex.test', 'member')
    const theirs = await host().send('DELETE', `/org/members/${globexMember.memberId}`, { token: acme.accessToken })
    const nobody = await host().send('DELETE', '/org/members/00000000-0000-4000-8000-000000000000', {
      token: acme.accessToken,
    })
    expect(theirs.status).toBe(404)
    expect({ ...theirs.body, instance: undefined }).toEqual({ ...nobody.body, instance: undefined })
  })
})
