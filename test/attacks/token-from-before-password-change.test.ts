import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('a token from before a password change', (host) => {
  it('is refused, access and refresh alike', async () => {
    const stolen = await host().tenant('Acme')
    const owner = await host().send('POST', '/admin/login', {
      json: { email: stolen.email, password: 'correct horse battery' },
    })
    await host().send('PUT', '/org/update', {
      json: { organization_name: 'Acme', password: 'locked the thief out' },
      token: owner.body.access_token,
    })
    expect((await host().send('GET', '/notes', { token: stolen.accessToken })).status).toBe(401)
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: stolen.refreshToken } })).status).toBe(
      401,
    )
  })
})
