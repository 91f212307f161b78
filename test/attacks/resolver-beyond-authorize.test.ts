import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

// /orgs/:slug/notes: the path names the tenant, the app's own API key names the caller, and
// authorize must stop a caller naming an organization it does not belong to.
describeAttack('a path naming an organization the caller does not belong to', (host) => {
  async function apiKey(accessToken: string): Promise<string> {
    return (await host().send('POST', '/app-users', { json: { name: 'Mallory' }, token: accessToken })).body.api_key
  }

  it('answers 403 and shows nothing of the other organization, however the slug is spelled', async () => {
    const victim = await host().tenant('Victim')
    const mallory = await host().tenant('Mallory')
    await host().send('POST', '/notes', { json: { text: 'victim secret' }, token: victim.accessToken })
    const key = await apiKey(mallory.accessToken)
    const before = await host().snapshot()
    for (const path of [
      '/orgs/victim/notes',
      '/orgs/VICTIM/notes',
      '/orgs/victim%2e/notes',
      `/orgs/${encodeURIComponent(victim.id)}/notes`,
    ]) {
      const reply = await host().send('GET', path, { headers: { 'x-api-key': key } })
      expect([403, 404], path).toContain(reply.status)
      expect(JSON.stringify(reply.body), path).not.toContain('victim secret')
    }
    expect(await host().snapshot()).toBe(before)
  })

  it('does not let a tenantry admin token stand in for the app’s own user', async () => {
    const victim = await host().tenant('Victim')
    // The token is not the app's user: nobody is signed in as far as the app's routes go.
    expect((await host().send('GET', '/orgs/victim/notes', { token: victim.accessToken })).status).toBe(401)
    expect((await host().send('GET', '/api/notes', { token: victim.accessToken })).status).toBe(404)
  })

  it('stops the app’s user of a deleted organization, even when a namesake is created', async () => {
    const victim = await host().tenant('Victim')
    const key = await apiKey(victim.accessToken)
    await host().send('DELETE', '/org/delete', { json: { organization_name: 'Victim' }, token: victim.accessToken })
    await host().tenant('Victim')
    expect((await host().send('GET', '/orgs/victim/notes', { headers: { 'x-api-key': key } })).status).toBe(403)
    expect((await host().send('GET', '/api/notes', { headers: { 'x-api-key': key } })).status).toBe(404)
  })
})
