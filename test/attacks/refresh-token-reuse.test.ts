import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('a replayed refresh token', (host) => {
  it('ends the whole session: the thief and the victim both have to log in again', async () => {
    const { refreshToken } = await host().tenant('Acme')
    const victim = await host().send('POST', '/admin/refresh', { json: { refresh_token: refreshToken } })
    expect(victim.status).toBe(200)
    const thief = await host().send('POST', '/admin/refresh', { json: { refresh_token: refreshToken } })
    expect(thief.status).toBe(401)
    expect(
      (await host().send('POST', '/admin/refresh', { json: { refresh_token: victim.body.refresh_token } })).status,
    ).toBe(401)
    expect((await host().send('GET', '/notes', { token: victim.body.access_token })).status).toBe(401)
  })
})
