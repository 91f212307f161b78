import { expect, it } from 'vitest'
import { addMember } from '../support/members.js'
import { describeAttack, PASSWORD } from './host.js'
import { storeOf } from '../support/store-of.js'

describeAttack('leaving an organization without an owner', (host) => {
  it('is refused: the owner cannot leave or be removed, and stays the owner', async () => {
    const acme = await host().tenant('Acme')
    const admin = await addMember(host().send, acme.accessToken, 'ad@acme.test', 'admin')
    const ownerId = (await storeOf(host().tenancy).records.organizations.find({ id: acme.id }))!.ownerId
    expect((await host().send('POST', '/org/leave', { token: acme.accessToken })).status).toBe(403)
    expect((await host().send('DELETE', `/org/members/${ownerId}`, { token: admin.accessToken })).status).toBe(403)
    expect((await host().send('DELETE', `/org/members/${ownerId}`, { token: acme.accessToken })).status).toBe(403)
    expect((await storeOf(host().tenancy).records.organizations.find({ id: acme.id }))!.ownerId).toBe(ownerId)
    expect(await storeOf(host().tenancy).records.memberships.find({ id: ownerId })).not.toBeNull()
    expect((await host().send('GET', '/org/members', { token: acme.accessToken })).status).toBe(200)
  })

  it('is allowed once ownership was transferred', async () => {
    const acme = await host().tenant('Acme')
    const admin = await addMember(host().send, acme.accessToken, 'ad@acme.test', 'admin')
    expect(
      (
        await host().send('POST', '/org/transfer-ownership', {
          json: { member_id: admin.memberId },
          token: acme.accessToken,
        })
      ).status,
    ).toBe(200)
    const token = (await host().send('POST', '/admin/login', { json: { email: acme.email, password: PASSWORD } })).body
      .access_token
    expect((await host().send('POST', '/org/leave', { token })).status).toBe(204)
  })
})
