import { expect, it } from 'vitest'
import { PASSWORD } from '../support/secret.js'
import { describeAttack } from './host.js'

describeAttack('a suspended organization', (host) => {
  it('answers 403 ORGANIZATION_SUSPENDED to its tokens, logins and refreshes from the very next request', async () => {
    const acme = await host().tenant('Acme')
    const globex = await host().tenant('Globex')
    expect((await host().send('POST', '/notes', { json: { text: 'kept' }, token: acme.accessToken })).status).toBe(201)
    // Cached before the suspension: the next request must not be served from the cache.
    expect((await host().send('GET', '/notes', { token: acme.accessToken })).status).toBe(200)
    await host().tenancy.admin.suspend(acme.id, { reason: 'invoice unpaid' })
    for (const [method, path] of [
      ['GET', '/notes'],
      ['GET', '/org/members'],
      ['PUT', '/org/update'],
    ] as const) {
      const reply = await host().send(method, path, {
        token: acme.accessToken,
        json: method === 'PUT' ? {} : undefined,
      })
      expect(reply, `${method} ${path}`).toMatchObject({ status: 403, body: { code: 'ORGANIZATION_SUSPENDED' } })
    }
    expect(
      await host().send('POST', '/admin/login', { json: { email: acme.email, password: PASSWORD } }),
    ).toMatchObject({ status: 403, body: { code: 'ORGANIZATION_SUSPENDED' } })
    // A wrong password learns nothing about the organization.
    expect(
      await host().send('POST', '/admin/login', { json: { email: acme.email, password: 'not the password' } }),
    ).toMatchObject({ status: 401, body: { code: 'INVALID_CREDENTIALS' } })
    expect(await host().send('POST', '/admin/refresh', { json: { refresh_token: acme.refreshToken } })).toMatchObject({
      status: 403,
      body: { code: 'ORGANIZATION_SUSPENDED' },
    })
    // Another organization carries on.
    expect((await host().send('GET', '/notes', { token: globex.accessToken })).status).toBe(200)
    // A stranger is told nothing: the public page answers as for a slug nobody has.
    const site = await host().sendAs('acme.example.test', '/site')
    const nobody = await host().sendAs('nobody.example.test', '/site')
    expect({ status: site.status, body: site.body }).toEqual({ status: nobody.status, body: nobody.body })
    await expect(host().tenancy.tenant({ id: acme.id })).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
  })

  it('keeps everything while suspended, and gives it all back on resume: data, tokens and the same refresh token', async () => {
    const acme = await host().tenant('Acme')
    await host().send('POST', '/notes', { json: { text: 'kept' }, token: acme.accessToken })
    await host().tenancy.admin.suspend(acme.id, { reason: 'investigation' })
    await host().send('POST', '/admin/refresh', { json: { refresh_token: acme.refreshToken } })
    const visited: string[] = []
    await host().tenancy.forEachTenant((tenant) => void visited.push(tenant.id))
    expect(visited).not.toContain(acme.id)
    await host().tenancy.forEachTenant((tenant) => void visited.push(tenant.id), { includeSuspended: true })
    expect(visited).toContain(acme.id)
    const { organizations } = await host().tenancy.admin.listOrganizations()
    expect(organizations.find((organization) => organization.id === acme.id)).toMatchObject({ suspended: true })
    await host().tenancy.admin.resume(acme.id)
    const notes = await host().send('GET', '/notes', { token: acme.accessToken })
    expect(notes).toMatchObject({ status: 200, body: { notes: [{ text: 'kept' }] } })
    expect((await host().send('POST', '/admin/refresh', { json: { refresh_token: acme.refreshToken } })).status).toBe(
      200,
    )
    const trail = await host().tenancy.admin.listAuditEvents(acme.id, { limit: 50 })
    expect(trail.map((event) => event.type)).toEqual(
      expect.arrayContaining(['organization.suspended', 'organization.resumed']),
    )
  })

  it('refuses to suspend what is not active, or resume what is not suspended, changing nothing', async () => {
    const acme = await host().tenant('Acme')
    await expect(host().tenancy.admin.resume(acme.id)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await host().tenancy.admin.suspend(acme.id, { reason: 'x' })
    await expect(host().tenancy.admin.suspend(acme.id, { reason: 'x' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(host().tenancy.admin.suspend(acme.id, { reason: '' })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
    await expect(host().tenancy.admin.suspend('no-such-organization', { reason: 'x' })).rejects.toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
    })
  })
})
