import { expect, it } from 'vitest'
import { decodeJwt, describeAttack } from './host.js'

describeAttack('an unsigned token (alg: none)', (host) => {
  it('is refused with 401, in every spelling of none', async () => {
    const { accessToken } = await host().tenant('Acme')
    const [header, payload] = decodeJwt(accessToken)
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      const forged = `${Buffer.from(JSON.stringify({ ...header, alg })).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`
      const reply = await host().send('GET', '/notes', { token: forged })
      expect(reply.status).toBe(401)
      expect(reply.body.code).toBe('TOKEN_INVALID')
    }
  })
})
