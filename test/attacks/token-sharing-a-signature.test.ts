import { expect, it } from 'vitest'
import { decodeJwt, describeAttack } from './host.js'

// Resolved tokens are found by their last characters (the signature) before the whole token is
// compared: a forged token that keeps a genuine token's signature must gain nothing from the
// genuine token's answer sitting in the cache.
describeAttack('a forged token that ends with a genuine, just-answered token’s signature', (host) => {
  it('is answered exactly as it is when the genuine token was never used: 401', async () => {
    const { accessToken } = await host().tenant('Acme')
    const victim = await host().tenant('Victim')
    const [headerPart, , signature] = accessToken.split('.')
    const [, payload] = decodeJwt(accessToken)
    const forgeries = [{ org: victim.id }, { ver: 7 }, { exp: Number(payload.exp) + 86_400 }].map(
      (edit) =>
        `${headerPart}.${Buffer.from(JSON.stringify({ ...payload, ...edit })).toString('base64url')}.${signature}`,
    )
    const answer = async (token: string) => {
      const { status, body } = await host().send('GET', '/notes', { token })
      return { status, body }
    }
    const cold = await Promise.all(forgeries.map(answer))
    expect((await host().send('GET', '/notes', { token: accessToken })).status).toBe(200)
    const warm = await Promise.all(forgeries.map(answer))
    expect(warm).toEqual(cold)
    expect(warm.map(({ status }) => status)).toEqual([401, 401, 401])
    // The genuine token is still answered from the cache, untouched by the forgeries.
    expect((await host().send('GET', '/notes', { token: accessToken })).status).toBe(200)
  })
})
