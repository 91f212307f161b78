import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('oversized and deeply nested bodies', (host) => {
  it('answers 413 or 400, never 500, and changes nothing', async () => {
    const session = await host().tenant('Acme')
    const before = await host().snapshot()
    const json = { 'content-type': 'application/json' }
    const bodies = [
      `{"organization_name":"${'x'.repeat(1_000_000)}","email":"a@b.test","password":"password1"}`,
      `{"organization_name":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      `${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}`,
      `{"organization_name":"a","email":"a@b.test","password":"password1","pad":${JSON.stringify(Array.from({ length: 5_000 }, () => ({})))}}`,
    ]
    for (const [method, path, token] of [
      ['POST', '/org/create'],
      ['POST', '/admin/login'],
      ['PUT', '/org/update', session.accessToken],
      ['POST', '/admin/refresh'],
    ] as const) {
      for (const raw of bodies) {
        const reply = await host().send(method, path, { raw, headers: json, token })
        expect([400, 413]).toContain(reply.status)
      }
    }
    expect(await host().snapshot()).toBe(before)
  })
})
