import { expect, it } from 'vitest'
import { decodeJwt, describeAttack, forgeJwt } from './host.js'

describeAttack('a token outside its lifetime, or without one', (host) => {
  const now = () => Math.floor(Date.now() / 1000)

  it('is refused with 401 when expired (TOKEN_EXPIRED), not yet valid, or missing exp', async () => {
    const { accessToken } = await host().tenant('Acme')
    const [header, payload] = decodeJwt(accessToken)
    const expired = await host().send('GET', '/notes', {
      token: forgeJwt(header, { ...payload, iat: now() - 120, exp: now() - 60 }),
    })
    expect(expired.status).toBe(401)
    expect(expired.body.code).toBe('TOKEN_EXPIRED')
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token')
    const { exp: _exp, ...noExp } = payload
    for (const claims of [{ ...payload, nbf: now() + 600 }, noExp, { ...payload, exp: 'tomorrow' }]) {
      expect((await host().send('GET', '/notes', { token: forgeJwt(header, claims) })).status).toBe(401)
    }
  })
})
