import { Collection, Db, MongoClient } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const uri = inject('mongoUri')

describe('mongoStore options', () => {
  const db = new MongoClient('mongodb://127.0.0.1:1').db('app')

  it('refuses a missing Db, an unknown strategy or an unsafe prefix at start-up with a TypeError', () => {
    expect(() => mongoStore({} as never)).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'schema' as never })).toThrow(TypeError)
    for (const prefix of ['', 'Upper_', 'has$dollar', 'system.', 'a'.repeat(21)]) expect(() => mongoStore({ db, prefix })).toThrow(TypeError)
  })

  it('refuses a database name too long to leave room for tenant collection names', () => {
    expect(() => mongoStore({ db: new MongoClient('mongodb://127.0.0.1:1').db('d'.repeat(63)), prefix: 'p'.repeat(20) })).not.toThrow()
    expect(() => mongoStore({ db: new MongoClient('mongodb://127.0.0.1:1').db('d'.repeat(230)) })).toThrow(TypeError)
  })
})

describe.skipIf(!uri)('the MongoDB store on a real server', () => {
  const fresh = useMongoDatabases(uri)

  async function acme<TData>(tenancy: ReturnType<typeof createTenancy<TData>>) {
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    return tenancy.registry.resolve(accessToken)
  }

  it('gives each tenant a driver Collection named after its stable key, with the declared indexes, kept across a rename', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({ store: mongoStore({ db, prefix, indexes: [{ key: { createdAt: -1 }, name: 'recent' }] }), auth: TEST_AUTH })
    const tenant = await acme(tenancy)
    expect(tenant.data).toBeInstanceOf(Collection)
    expect(tenant.data.collectionName).toMatch(new RegExp(`^${prefix}t_[0-9a-f]{24}$`))
    expect((await tenant.data.indexes()).map((index) => index.name)).toContain('recent')
    await tenant.data.insertOne({ text: 'kept', createdAt: new Date() })
    await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
    const renamed = await tenancy.registry.resolve((await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken)
    expect(renamed.data.collectionName).toBe(tenant.data.collectionName)
    expect(await renamed.data.countDocuments()).toBe(1)
  })

  it('gives each tenant a Db of its own under the database strategy', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({ store: mongoStore({ db, prefix, strategy: 'database', indexes: { notes: [{ key: { text: 1 }, name: 'text' }] } }), auth: TEST_AUTH })
    const tenant = await acme(tenancy)
    expect(tenant.data).toBeInstanceOf(Db)
    expect(tenant.data.databaseName).toMatch(new RegExp(`^${prefix}t_[0-9a-f]{24}$`))
    expect((await tenant.data.collection('notes').indexes()).map((index) => index.name)).toContain('text')
  })

  it('creates newly declared indexes on existing tenants with migrate()', async () => {
    const { db, prefix } = fresh()
    const before = createTenancy({ store: mongoStore({ db, prefix }), auth: TEST_AUTH })
    const tenant = await acme(before)
    const after = createTenancy({ store: mongoStore({ db, prefix, indexes: [{ key: { text: 1 }, name: 'by_text' }] }), auth: TEST_AUTH })
    expect(await after.migrate()).toMatchObject({ migrated: 1 })
    expect((await tenant.data.indexes()).map((index) => index.name)).toContain('by_text')
    expect(await after.migrate()).toMatchObject({ migrated: 1 })
  })

  it('drops data a write resurrected after its organization was deleted, at the next recovery', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({ store: mongoStore({ db, prefix }), auth: TEST_AUTH })
    const tenant = await acme(tenancy)
    await tenancy.orgs.delete(tenant, 'Acme')
    // A request that resolved its tenant just before the delete writes just after it.
    await tenant.data.insertOne({ text: 'late write' })
    expect(await tenancy.recover()).toMatchObject({ orphanDataSpacesDropped: 1 })
    expect(await tenancy.store.listTenantDataKeys()).toEqual([])
  })
})
