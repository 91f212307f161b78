import { expect, it } from 'vitest'
import { decodeJwt, describeAttack, forgeJwt } from './host.js'

describeAttack('a token for another issuer or audience', (host) => {
  it('is refused with 401', async () => {
    const { accessToken } = await host().tenant('Acme')
    const [header, payload] = decodeJwt(accessToken)
    const { iss: _iss, aud: _aud, ...neither } = payload
    for (const claims of [
      { ...payload, iss: 'evil' },
      { ...payload, aud: 'other-app' },
      { ...payload, aud: ['other-app'] },
      neither,
    ]) {
      expect((await host().send('GET', '/notes', { token: forgeJwt(header, claims) })).status).toBe(401)
    }
  })
})
