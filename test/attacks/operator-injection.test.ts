import { expect, it } from 'vitest'
import { describeAttack, PASSWORD } from './host.js'

const OPERATORS: unknown[] = [
  { $ne: null },
  { $gt: '' },
  { $regex: '.*' },
  { $where: 'true' },
  ['$ne'],
  { toString: 'x' },
]

describeAttack('operator objects where strings belong', (host) => {
  it('answers 400 in every field of every route and changes nothing', async () => {
    const session = await host().tenant('Acme')
    const routes: [string, string, Record<string, unknown>, string | undefined][] = [
      [
        'POST',
        '/org/create',
        { organization_name: 'New', email: 'new@x.test', password: PASSWORD, slug: 'new' },
        undefined,
      ],
      ['POST', '/admin/login', { email: session.email, password: PASSWORD }, undefined],
      ['POST', '/admin/refresh', { refresh_token: session.refreshToken }, undefined],
      [
        'PUT',
        '/org/update',
        { organization_name: 'Acme', slug: 'acme-new', email: 'x@x.test', password: 'new password here' },
        session.accessToken,
      ],
      ['POST', '/org/domains', { domain: 'shop.acme.com' }, session.accessToken],
      ['DELETE', '/org/domains', { domain: 'shop.acme.com' }, session.accessToken],
      ['DELETE', '/org/delete', { organization_name: 'Acme' }, session.accessToken],
      ['POST', '/notes', { text: 'note' }, session.accessToken],
    ]
    const before = await host().snapshot()
    for (const [method, path, body, token] of routes) {
      for (const field of Object.keys(body)) {
        for (const operator of OPERATORS) {
          const reply = await host().send(method, path, { json: { ...body, [field]: operator }, token })
          expect(reply.status, `${method} ${path} ${field}=${JSON.stringify(operator)}`).toBe(400)
        }
      }
    }
    for (const query of [
      'organization_name[$ne]=x',
      'organization_name=a&organization_name=b',
      'slug[$ne]=x',
      'slug=a&slug=b',
    ]) {
      expect((await host().send('GET', `/org/get?${query}`)).status).toBe(400)
    }
    expect(await host().snapshot()).toBe(before)
    // The refresh token survived the attempts that were refused as malformed.
    expect(
      (await host().send('POST', '/admin/refresh', { json: { refresh_token: session.refreshToken } })).status,
    ).toBe(200)
  })
})
