import { expect, it } from 'vitest'
import { decodeJwt, describeAttack } from './host.js'

describeAttack('a token whose payload was edited', (host) => {
  it('is refused with 401 whichever claim was changed', async () => {
    const { accessToken } = await host().tenant('Acme')
    const victim = await host().tenant('Victim')
    const [, payload] = decodeJwt(accessToken)
    const [headerPart, , signature] = accessToken.split('.')
    const edits = [
      { org: victim.id },
      { sub: decodeJwt(victim.accessToken)[1].sub },
      { ver: 7 },
      { exp: Number(payload.exp) + 86_400 },
      { sid: 'someone-else' },
    ]
    for (const edit of edits) {
      const forged = `${headerPart}.${Buffer.from(JSON.stringify({ ...payload, ...edit })).toString('base64url')}.${signature}`
      expect((await host().send('GET', '/notes', { token: forged })).status).toBe(401)
    }
  })
})
