import { expect, it } from 'vitest'
import { addMember } from '../support/members.js'
import { describeAttack, PASSWORD } from './host.js'

describeAttack('a removed member’s unexpired tokens', (host) => {
  it('stop on their very next request, access and refresh alike, and the cached answer is not reused', async () => {
    const acme = await host().tenant('Acme')
    const member = await addMember(host().send, acme.accessToken, 'm@acme.test', 'member')
    // Warm every cache with the member's token first.
    for (let i = 0; i < 3; i++)
      expect((await host().send('GET', '/notes', { token: member.accessToken })).status).toBe(200)
    expect((await host().send('DELETE', `/org/members/${member.memberId}`, { token: acme.accessToken })).status).toBe(
      204,
    )
    expect((await host().send('GET', '/notes', { token: member.accessToken })).status).toBe(401)
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: member.refreshToken } })).status).toBe(
      401,
    )
    expect((await host().send('POST', '/org/leave', { token: member.accessToken })).status).toBe(401)
    // Nor can the removed account log in to the organization it was removed from.
    expect(
      (await host().send('POST', '/admin/login', { json: { email: 'm@acme.test', password: PASSWORD } })).status,
    ).toBe(401)
  })

  it('stop too when the member leaves by themselves', async () => {
    const acme = await host().tenant('Acme')
    const member = await addMember(host().send, acme.accessToken, 'm@acme.test', 'member')
    expect((await host().send('GET', '/notes', { token: member.accessToken })).status).toBe(200)
    expect((await host().send('POST', '/org/leave', { token: member.accessToken })).status).toBe(204)
    expect((await host().send('GET', '/notes', { token: member.accessToken })).status).toBe(401)
  })
})
