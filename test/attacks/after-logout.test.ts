import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('a token after logout', (host) => {
  it('is refused on its very next request, even though it has not expired', async () => {
    const session = await host().tenant('Acme')
    expect((await host().send('GET', '/notes', { token: session.accessToken })).status).toBe(200)
    expect((await host().send('POST', '/admin/logout', { token: session.accessToken })).status).toBe(204)
    expect((await host().send('GET', '/notes', { token: session.accessToken })).status).toBe(401)
    expect((await host().send('POST', '/admin/logout', { token: session.accessToken })).status).toBe(401)
    expect(
      (await host().send('POST', '/admin/refresh', { json: { refresh_token: session.refreshToken } })).status,
    ).toBe(401)
  })
})
