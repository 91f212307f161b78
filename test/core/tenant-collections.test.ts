import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, errors } from 'tenantry'
import { toProblem } from 'tenantry/http'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { OrganizationNotFoundError, TenantIsolationError, UnknownCollectionError } = errors

async function acme(strategy: 'isolated' | 'shared') {
  const tenancy = createTenancy({
    store: memoryStore({ strategy, collections: { notes: {}, invoices: {} } }),
    auth: TEST_AUTH,
  })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  return { tenancy, tenant: await tenancy.tenant({ id: organization.id }) }
}

for (const strategy of ['isolated', 'shared'] as const) {
  describe(`tenant.collection on the ${strategy} memory strategy`, () => {
    it('refuses a name the store does not declare, creating nothing', async () => {
      const { tenant } = await acme(strategy)
      for (const name of ['note', 'Notes', '', '__proto__', 'constructor'])
        expect(() => tenant.collection(name as 'notes')).toThrow(UnknownCollectionError)
      // A host route that passes a name through from a request answers 404, not 500.
      expect(toProblem(new UnknownCollectionError('no collection "note"'))).toMatchObject({ status: 404 })
    })

    it('keeps declared collections apart and hands out the same handle each time', async () => {
      const { tenant } = await acme(strategy)
      await tenant.collection('notes').insertOne({ text: 'a note' })
      expect(await tenant.collection('invoices' as 'notes').countDocuments()).toBe(0)
      expect(tenant.collection('notes')).toBe(tenant.collection('notes'))
    })

    it('refuses operations outside the allow-list with a 400-class TENANT_ISOLATION problem', async () => {
      const { tenant } = await acme(strategy)
      const error = await (async () =>
        tenant
          .collection('notes')
          .aggregate([{ $out: 'elsewhere' }])
          .toArray())().catch((err: unknown) => err)
      expect(error).toBeInstanceOf(TenantIsolationError)
      expect(toProblem(error)).toMatchObject({ status: 400 })
    })

    it('hands out no handle for a deleted organization’s data', async () => {
      const { tenancy, tenant } = await acme(strategy)
      const record = (await storeOf(tenancy).records.organizations.find({ id: tenant.id }))!
      const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      await tenancy.orgs.delete(await tenancy.authenticate(accessToken), 'Acme')
      expect(() => storeOf(tenancy).data.collection(record, 'notes')).toThrow(OrganizationNotFoundError)
    })
  })
}

describe('SQL on a document store', () => {
  it('answers tenant.transaction and tenant.query with UnsupportedQueryError, a 400 over HTTP', async () => {
    const { tenant } = await acme('isolated')
    await expect(tenant.transaction(async () => 1)).rejects.toBeInstanceOf(errors.UnsupportedQueryError)
    const refused = await tenant.query('select 1').catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(errors.UnsupportedQueryError)
    expect(toProblem(refused)?.status).toBe(400)
  })
})

describe('store declarations', () => {
  it('refuses a bad declaration at start-up with TypeError', () => {
    for (const collections of [
      [],
      { 'no.dots': {} },
      { $bad: {} },
      { notes: null },
      { notes: { indexes: {} } },
      { notes: { indexes: [{ key: { a: 'asc' } }] } },
    ]) {
      expect(() => memoryStore({ collections: collections as never })).toThrow(TypeError)
    }
    expect(() => memoryStore({ strategy: 'schema' as never })).toThrow(TypeError)
    expect(() => memoryStore({ strategy: 'shared', tenantField: '_id' })).toThrow(TypeError)
  })
})
