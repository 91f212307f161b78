import { expect, it } from 'vitest'
import { describeAttack } from './host.js'

describeAttack('the slug or domain of a changed or deleted organization', (host) => {
  it('never reaches an organization through a slug it gave up, even once another takes it', async () => {
    const victim = await host().tenant('Victim')
    await host().send('POST', '/notes', { json: { text: 'victim secret' }, token: victim.accessToken })
    expect((await host().sendAs('victim.example.test', '/site')).status).toBe(200)
    await host().send('PUT', '/org/update', {
      json: { organization_name: 'Victim', slug: 'victim-renamed' },
      token: victim.accessToken,
    })
    expect((await host().sendAs('victim.example.test', '/site')).status).toBe(404)
    const mallory = await host().tenant('Mallory')
    expect(
      (
        await host().send('PUT', '/org/update', {
          json: { organization_name: 'Mallory', slug: 'victim' },
          token: mallory.accessToken,
        })
      ).status,
    ).toBe(200)
    expect((await host().sendAs('victim.example.test', '/site')).body.organization).toEqual({
      name: 'Mallory',
      slug: 'victim',
    })
    expect((await host().send('GET', '/notes', { token: mallory.accessToken })).body.notes).toEqual([])
  })

  it('never reaches a deleted organization, nor its data, through its slug or domain', async () => {
    const victim = await host().tenant('Victim')
    await host().send('POST', '/org/domains', { json: { domain: 'victim.com' }, token: victim.accessToken })
    await host().send('POST', '/notes', { json: { text: 'victim secret' }, token: victim.accessToken })
    expect(
      (await host().send('DELETE', '/org/delete', { json: { organization_name: 'Victim' }, token: victim.accessToken }))
        .status,
    ).toBe(204)
    for (const hostname of ['victim.example.test', 'victim.com'])
      expect((await host().sendAs(hostname, '/site')).status).toBe(404)
    // Re-created under the same name, it starts empty: nothing of the old tenant comes back.
    const again = await host().tenant('Victim')
    expect((await host().sendAs('victim.example.test', '/site')).body.organization.slug).toBe('victim')
    expect((await host().sendAs('victim.com', '/site')).status).toBe(404)
    expect((await host().send('GET', '/notes', { token: again.accessToken })).body.notes).toEqual([])
  })

  it('drops a removed domain at once, and does not let another organization remove a domain it does not hold', async () => {
    const victim = await host().tenant('Victim')
    const mallory = await host().tenant('Mallory')
    await host().send('POST', '/org/domains', { json: { domain: 'victim.com' }, token: victim.accessToken })
    expect(
      (await host().send('DELETE', '/org/domains', { json: { domain: 'victim.com' }, token: mallory.accessToken }))
        .status,
    ).toBe(404)
    expect(
      (await host().send('POST', '/org/domains', { json: { domain: 'VICTIM.com.' }, token: mallory.accessToken }))
        .status,
    ).toBe(409)
    expect((await host().sendAs('victim.com', '/site')).body.organization.slug).toBe('victim')
    await host().send('DELETE', '/org/domains', { json: { domain: 'victim.com' }, token: victim.accessToken })
    expect((await host().sendAs('victim.com', '/site')).status).toBe(404)
  })
})
