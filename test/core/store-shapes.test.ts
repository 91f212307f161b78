import express from 'express'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type AuditEvent, type Store } from 'tenantry'
import { orgRouter } from 'tenantry/express'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer } from '../support/start-server.js'

/** A memory store whose records keep no domains and no audit events: both groups are optional. */
function withoutOptionalGroups(): Store {
  const { records, data } = memoryStore({ collections: { notes: {} } })
  const { domains: _domains, audit: _audit, ...required } = records
  return { records: required, data }
}

describe('stores of every shape', () => {
  it('runs on one store’s records and another’s data', async () => {
    const recordsFrom = memoryStore()
    const dataFrom = memoryStore({ collections: { notes: {} } })
    const tenancy = createTenancy({ auth: TEST_AUTH, store: { records: recordsFrom.records, data: dataFrom.data } })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    await (await tenancy.tenant({ id: organization.id })).collection('notes').insertOne({ text: 'kept' })
    expect(await recordsFrom.records.organizations.find({ id: organization.id })).toMatchObject({ state: 'active' })
    expect(await dataFrom.data.listKeys()).toHaveLength(1)
    expect(await recordsFrom.data.listKeys()).toEqual([])
  })

  it('refuses at start-up anything that is not records plus data', () => {
    const { records, data } = memoryStore()
    const { sessions: _sessions, ...withoutSessions } = records
    for (const store of [{}, { records }, { data }, { records: withoutSessions, data }, memoryStore().records])
      expect(
        () => createTenancy({ auth: TEST_AUTH, store: store as Store }),
        JSON.stringify(Object.keys(store)),
      ).toThrow(TypeError)
  })

  it('serves no custom domains from a store that keeps none: no routes, no matches, a TypeError in code', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH, store: withoutOptionalGroups() })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
    )
    await expect(tenancy.orgs.addDomain(owner, 'shop.acme.com')).rejects.toThrow(TypeError)
    await expect(tenancy.tenant({ domain: 'shop.acme.com' })).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
    const app = express().use(orgRouter(tenancy))
    const { url, close } = await startServer(app)
    try {
      const token = (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken
      for (const path of ['/org/domains', '/org/audit']) {
        const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })
        expect(response.status, path).toBe(404)
      }
      const document = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, unknown> }
      expect(Object.keys(document.paths)).not.toContain('/org/domains')
    } finally {
      await close()
    }
  })

  it('hands audit events to onAudit only, from a store that keeps none', async () => {
    const seen: AuditEvent[] = []
    const tenancy = createTenancy({ auth: TEST_AUTH, store: withoutOptionalGroups(), onAudit: (e) => seen.push(e) })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    expect(seen.map((event) => event.type)).toEqual(['organization.created'])
    await expect(tenancy.admin.listAuditEvents(organization.id, { limit: 10 })).rejects.toThrow(TypeError)
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
    )
    await tenancy.orgs.delete(owner, 'Acme')
    expect(seen.map((event) => event.type)).toContain('organization.deleted')
  })
})
