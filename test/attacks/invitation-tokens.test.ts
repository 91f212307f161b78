import { expect, it } from 'vitest'
import { PASSWORD } from '../support/secret.js'
import { describeAttack } from './host.js'
import { storeOf } from '../support/store-of.js'

describeAttack('invitation tokens used where they do not belong', (host) => {
  async function invitation(email = 'new@acme.test') {
    const acme = await host().tenant('Acme')
    const reply = await host().send('POST', '/org/invitations', {
      json: { email, role: 'member' },
      token: acme.accessToken,
    })
    return { acme, token: reply.body.token as string }
  }

  it('refuses an invitation token as a bearer token', async () => {
    const { token } = await invitation()
    for (const path of ['/notes', '/org/members', '/org/audit'])
      expect((await host().send('GET', path, { token })).status).toBe(401)
  })

  it('refuses an access or refresh token as an invitation token, and changes nothing', async () => {
    const { acme } = await invitation()
    const before = await host().snapshot()
    for (const token of [acme.accessToken, acme.refreshToken]) {
      const reply = await host().send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } })
      expect([400, 401]).toContain(reply.status)
    }
    expect(await host().snapshot()).toBe(before)
  })

  it('refuses an accept with the wrong password for an existing account, and leaves the invitation to its owner', async () => {
    const globex = await host().tenant('Globex')
    const acme = await host().tenant('Acme')
    const invited = await host().send('POST', '/org/invitations', {
      json: { email: globex.email, role: 'member' },
      token: acme.accessToken,
    })
    const before = await host().snapshot()
    const reply = await host().send('POST', '/org/invitations/accept', {
      json: { token: invited.body.token, password: 'the attacker’s own password' },
    })
    expect(reply.status).toBe(401)
    expect(await host().snapshot()).toBe(before)
    expect(await storeOf(host().tenancy).records.memberships.list({ organizationId: acme.id })).toHaveLength(1)
    expect(
      (
        await host().send('POST', '/org/invitations/accept', {
          json: { token: invited.body.token, password: PASSWORD },
        })
      ).status,
    ).toBe(200)
  })

  it('lets exactly one of eight concurrent accepts of one invitation win, for an account that exists', async () => {
    const globex = await host().tenant('Globex')
    const acme = await host().tenant('Acme')
    const { token } = (
      await host().send('POST', '/org/invitations', {
        json: { email: globex.email, role: 'member' },
        token: acme.accessToken,
      })
    ).body
    const replies = await Promise.all(
      Array.from({ length: 8 }, () =>
        host().send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } }),
      ),
    )
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 401, 401, 401, 401, 401, 401, 401])
    expect(await storeOf(host().tenancy).records.memberships.list({ organizationId: acme.id })).toHaveLength(2)
  })

  it('lets exactly one of twenty concurrent accepts of one invitation win, for a new account', async () => {
    const { acme, token } = await invitation()
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        host().send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } }),
      ),
    )
    expect(replies.filter((reply) => reply.status === 200)).toHaveLength(1)
    // The losers are refused: the invitation is used, or the accepts were throttled like logins.
    for (const reply of replies.filter((reply) => reply.status !== 200)) expect([401, 429]).toContain(reply.status)
    expect(await storeOf(host().tenancy).records.memberships.list({ organizationId: acme.id })).toHaveLength(2)
  })
})
