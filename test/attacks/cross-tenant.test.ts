import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack("another tenant's id or name in the path, query or body", (host) => {
  it('never reads or changes the other tenant', async () => {
    const attacker = await host().tenant('Attacker')
    const victim = await host().tenant('Victim')
    await host().send('POST', '/notes', { json: { text: 'victim secret' }, token: victim.accessToken })
    const before = await host().snapshot()
    const attempts: [string, string, unknown][] = [
      ['GET', `/notes?organization_id=${victim.id}`, undefined],
      ['GET', `/notes?tenant=${victim.id}`, undefined],
      ['POST', '/notes', { text: 'x', organization_id: victim.id }],
      ['PUT', '/org/update', { organization_name: 'Victim' }],
      ['PUT', '/org/update', { organization_name: 'Attacker', organization_id: victim.id }],
      ['PUT', '/org/update', { organization_name: 'Attacker', email: victim.email }],
      ['DELETE', '/org/delete', { organization_name: 'Victim' }],
      ['DELETE', '/org/delete', { organization_name: 'victim ' }],
      ['GET', `/org/audit?organization_id=${victim.id}`, undefined],
    ]
    for (const [method, path, json] of attempts) {
      const reply = await host().send(method, path, { json, token: attacker.accessToken })
      expect(JSON.stringify(reply.body ?? '')).not.toContain('victim secret')
      expect(reply.status).not.toBe(500)
    }
    // Nothing changed for anyone: every attempt was refused or touched only the attacker's own
    // (empty) data, and the victim keeps its name, admin and notes.
    expect(await host().snapshot()).toBe(before)
    const victimNotes = await host().send('GET', '/notes', { token: victim.accessToken })
    expect(victimNotes.body.notes.map((n: { text: string }) => n.text)).toEqual(['victim secret'])
  })
})
