import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

// The example apps do not trust a proxy, so only the Host header the client connected with counts.
describeAttack('a spoofed or malformed Host', (host) => {
  it('ignores X-Forwarded-Host and Forwarded without trust proxy', async () => {
    await host().tenant('Victim')
    await host().tenant('Mallory')
    for (const headers of [
      { 'x-forwarded-host': 'victim.example.test' },
      { forwarded: 'host=victim.example.test' },
      { 'x-forwarded-host': 'victim.example.test, mallory.example.test' },
    ] as Record<string, string>[]) {
      const reply = await host().sendAs('mallory.example.test', '/site', headers)
      expect(reply.body.organization.slug).toBe('mallory')
    }
  })

  it('names no tenant, and answers no 5xx, for hosts that are not a slug or a domain', async () => {
    await host().tenant('Victim')
    const hosts = [
      'victim.example.test@evil.com',
      'evil.com#.victim.example.test',
      '..example.test',
      '-victim.example.test',
      'victim-.example.test',
      'vic_tim.example.test',
      'a.victim.example.test',
      `${'a'.repeat(64)}.example.test`,
      '[::1]',
      '127.0.0.1',
      '',
      'victim.example.test.evil.com',
    ]
    for (const spoofed of hosts) {
      const reply = await host().sendAs(spoofed, '/site')
      expect(reply.status, spoofed).toBeGreaterThanOrEqual(400)
      expect(reply.status, spoofed).toBeLessThan(500)
      expect(JSON.stringify(reply.body), spoofed).not.toContain('Victim')
    }
  })

  it('treats case, a trailing dot and a port as the same host, never as another tenant', async () => {
    await host().tenant('Victim')
    await host().tenant('Victim Two')
    for (const variant of [
      'VICTIM.EXAMPLE.TEST',
      'victim.example.test.',
      'victim.example.test:1',
      'Victim.Example.Test.:65535',
    ]) {
      expect((await host().sendAs(variant, '/site')).body.organization.slug, variant).toBe('victim')
    }
  })
})
