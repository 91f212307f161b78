import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('a refresh token used as an access token, and the other way round', (host) => {
  it('is refused with 401 both ways', async () => {
    const { accessToken, refreshToken } = await host().tenant('Acme')
    const asBearer = await host().send('GET', '/notes', { token: refreshToken })
    expect(asBearer.body.code).toBe('TOKEN_INVALID')
    // Said plainly, so a client developer sees what went wrong.
    expect(asBearer.body.detail).toContain('this is a refresh token')
    expect(
      (await host().send('PUT', '/org/update', { json: { organization_name: 'Pwned' }, token: refreshToken })).status,
    ).toBe(401)
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: accessToken } })).body.code).toBe(
      'REFRESH_TOKEN_INVALID',
    )
  })
})
