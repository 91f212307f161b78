import { expect, it } from 'vitest'
import { addMember } from '../support/members.js'
import { describeAttack } from './host.js'
import { storeOf } from '../support/store-of.js'

describeAttack('twenty concurrent ownership transfers', (host) => {
  it('leave exactly one owner, and make exactly one of them succeed', async () => {
    const acme = await host().tenant('Acme')
    const admins = []
    for (let i = 0; i < 20; i++)
      admins.push(await addMember(host().send, acme.accessToken, `admin${i}@acme.test`, 'admin'))
    const replies = await Promise.all(
      admins.map((admin) =>
        host().send('POST', '/org/transfer-ownership', {
          json: { member_id: admin.memberId },
          token: acme.accessToken,
        }),
      ),
    )
    const statuses = replies.map((reply) => reply.status)
    expect(statuses.filter((status) => status === 200)).toHaveLength(1)
    // The rest lost the race: refused, either by the ownership check or because the token they carried stopped.
    for (const status of statuses.filter((status) => status !== 200)) expect([401, 403]).toContain(status)
    const organizationId = acme.id
    const members = await storeOf(host().tenancy).records.memberships.list({ organizationId })
    const org = (await storeOf(host().tenancy).records.organizations.find({ id: organizationId }))!
    expect(members.filter((member) => member.id === org.ownerId)).toHaveLength(1)
    const winner = admins[statuses.indexOf(200)]!
    expect(org.ownerId).toBe(winner.memberId)
  })

  it('from two admins at once, neither of them the owner, make nobody the owner', async () => {
    const acme = await host().tenant('Acme')
    const one = await addMember(host().send, acme.accessToken, 'one@acme.test', 'admin')
    const two = await addMember(host().send, acme.accessToken, 'two@acme.test', 'admin')
    const replies = await Promise.all([
      host().send('POST', '/org/transfer-ownership', { json: { member_id: one.memberId }, token: one.accessToken }),
      host().send('POST', '/org/transfer-ownership', { json: { member_id: two.memberId }, token: two.accessToken }),
      host().send('POST', '/org/transfer-ownership', { json: { member_id: one.memberId }, token: two.accessToken }),
    ])
    expect(replies.map((reply) => reply.status)).toEqual([403, 403, 403])
    const owner = (await storeOf(host().tenancy).records.organizations.find({ id: acme.id }))!.ownerId
    expect((await storeOf(host().tenancy).records.memberships.find({ id: owner }))!.accountId).not.toBe(
      (await storeOf(host().tenancy).records.memberships.find({ id: one.memberId }))!.accountId,
    )
  })
})
