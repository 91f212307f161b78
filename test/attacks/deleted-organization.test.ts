import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('a token for a deleted organization', (host) => {
  it('is refused at once, and never reaches the data of a new organization with the same name', async () => {
    const old = await host().tenant('Acme')
    await host().send('POST', '/notes', { json: { text: 'old data' }, token: old.accessToken })
    expect(
      (await host().send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: old.accessToken }))
        .status,
    ).toBe(204)
    const reborn = await host().tenant('Acme')
    await host().send('POST', '/notes', { json: { text: 'new data' }, token: reborn.accessToken })
    for (const [method, path, json] of [
      ['GET', '/notes'],
      ['POST', '/notes', { text: 'x' }],
      ['DELETE', '/org/delete', { organization_name: 'Acme' }],
    ] as const) {
      expect((await host().send(method, path, { json, token: old.accessToken })).status).toBe(401)
    }
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: old.refreshToken } })).status).toBe(
      401,
    )
    expect(
      (await host().send('GET', '/notes', { token: reborn.accessToken })).body.notes.map(
        (n: { text: string }) => n.text,
      ),
    ).toEqual(['new data'])
  })
})
