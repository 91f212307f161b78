import { expect, it } from 'vitest'
import { decodeJwt, describeAttack, forgeJwt } from './host.js'

describeAttack('a token signed with the wrong secret', (host) => {
  it('is refused with 401', async () => {
    const { accessToken } = await host().tenant('Acme')
    const [header, payload] = decodeJwt(accessToken)
    for (const secret of ['', 'secret', 'test-secret-test-secret-test-secret?', 'a'.repeat(64)]) {
      const reply = await host().send('GET', '/notes', { token: forgeJwt(header, payload, secret) })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('TOKEN_INVALID')
    }
  })
})
