import { generateKeyPairSync } from 'node:crypto'
import { expect, it } from 'vitest'
import { decodeJwt, describeAttack, forgeJwt } from './host.js'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

describeAttack(
  'an HS256 token signed with the public key of an ES256 configuration',
  (host) => {
    it('is refused with 401, whatever form of the published key is used as the HMAC secret', async () => {
      const { accessToken } = await host().tenant('Acme')
      const [header, payload] = decodeJwt(accessToken)
      expect(header.alg).toBe('ES256')
      const published = host().tenancy.auth.jwks().keys[0]!
      const secrets = [
        publicKey.export({ type: 'spki', format: 'pem' }),
        publicKey.export({ type: 'spki', format: 'der' }),
        JSON.stringify(published),
      ]
      for (const secret of secrets) {
        const reply = await host().send('GET', '/notes', {
          token: forgeJwt({ ...header, alg: 'HS256' }, payload, secret as string),
        })
        expect(reply.status).toBe(401)
      }
      expect((await host().send('GET', '/notes', { token: accessToken })).status).toBe(200)
    })
  },
  { auth: { secret: undefined, keys: [{ kid: 'es-1', algorithm: 'ES256', privateKey }] } },
)
