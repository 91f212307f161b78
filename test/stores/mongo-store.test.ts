import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { createTenancy, type Tenancy, errors } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { migrated, useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'
import { mongoQueryError } from '../../src/stores/mongodb/mongo-query-errors.js'

// The error classes a test names, from the namespace a host uses.
const { DuplicateKeyError, InvalidQueryError, QueryLimitError, TenantIsolationError, UnsupportedQueryError } = errors

const uri = inject('mongoUri')
const notes = { notes: { indexes: [{ key: { createdAt: -1 as const }, name: 'recent' }] } }

describe('mongoStore options', () => {
  const db = new MongoClient('mongodb://127.0.0.1:1').db('app')

  it('refuses a missing Db, an unknown strategy, an unsafe prefix or a bad declaration at start-up with a TypeError', () => {
    expect(() => mongoStore({} as never)).toThrow(TypeError)
    for (const strategy of ['schema', 'collection'])
      expect(() => mongoStore({ db, strategy: strategy as never })).toThrow(TypeError)
    for (const prefix of ['', 'Upper_', 'has$dollar', 'system.', 'a'.repeat(21)])
      expect(() => mongoStore({ db, prefix })).toThrow(TypeError)
    for (const collections of [
      [],
      { 'no.dots': {} },
      { $bad: {} },
      { notes: { indexes: [{ key: {} }] } },
      { notes: { indexes: [{ key: { a: 2 } }] } },
    ]) {
      expect(() => mongoStore({ db, collections: collections as never })).toThrow(TypeError)
    }
    for (const tenantField of ['_id', 'a.b', '$t', ''])
      expect(() => mongoStore({ db, strategy: 'shared', tenantField })).toThrow(TypeError)
  })

  it('takes a namespace budget only where tenants cost namespaces', () => {
    expect(() => mongoStore({ db, collections: notes, maxNamespaces: 0 })).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'shared', collections: notes, maxNamespaces: 100 })).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'database', collections: notes, maxNamespaces: 100 })).not.toThrow()
  })

  it('takes a database budget only on the strategy that makes a database per tenant', () => {
    expect(() => mongoStore({ db, strategy: 'database', collections: notes, maxDatabases: 1.5 })).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'prefix', collections: notes, maxDatabases: 90 })).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'shared', collections: notes, maxDatabases: 90 })).toThrow(TypeError)
    expect(() => mongoStore({ db, strategy: 'database', collections: notes, maxDatabases: 90 })).not.toThrow()
  })

  it('refuses a consistency override that would let it misjudge its own records: a secondary read preference, an unacknowledged write', () => {
    for (const readPreference of ['secondary', 'secondaryPreferred', 'nearest', 'primaryPreferred'] as const)
      expect(() => mongoStore({ db, consistency: { readPreference } })).toThrow(TypeError)
    expect(() => mongoStore({ db, consistency: { writeConcern: { w: 0 } } })).toThrow(TypeError)
    expect(() =>
      mongoStore({ db, consistency: { writeConcern: { w: 1 }, readConcern: { level: 'local' } } }),
    ).not.toThrow()
  })

  it('refuses names too long for MongoDB namespaces', () => {
    expect(() =>
      mongoStore({
        db: new MongoClient('mongodb://127.0.0.1:1').db('d'.repeat(63)),
        prefix: 'p'.repeat(20),
        collections: notes,
      }),
    ).not.toThrow()
    expect(() =>
      mongoStore({
        db: new MongoClient('mongodb://127.0.0.1:1').db('d'.repeat(200)),
        collections: { ['n'.repeat(60)]: {} },
      }),
    ).toThrow(TypeError)
  })
})

describe('MongoDB server errors a tenant call can meet, beyond a malformed query', () => {
  const serverError = (code: number) => new MongoServerError({ message: `failed with ${code}`, code })
  const bulkError = (writeErrors: { code: number; index: number }[]) =>
    new MongoBulkWriteError(
      {
        message: 'write failed',
        code: writeErrors[0]!.code,
        // The driver's WriteError reads code and index off the server's reply: the same fields.
        writeErrors: writeErrors.map((failure) => ({ ...failure, errmsg: 'failed' })) as never,
      },
      { insertedCount: 2, matchedCount: 1, modifiedCount: 1, deletedCount: 0, upsertedCount: 0 } as never,
    )

  it('become typed errors: a feature the server refuses, a query or document its indexes cannot serve, a nesting too deep', () => {
    expect(mongoQueryError(serverError(224))).toBeInstanceOf(UnsupportedQueryError)
    for (const code of [27, 67, 171, 201, 291])
      expect(mongoQueryError(serverError(code)), String(code)).toBeInstanceOf(InvalidQueryError)
    expect(mongoQueryError(serverError(232))).toBeInstanceOf(QueryLimitError)
  })

  it('say what a failed bulk write applied and where each write failed, as the memory store does', () => {
    const err = mongoQueryError(
      bulkError([
        { code: 11000, index: 1 },
        { code: 14, index: 3 },
      ]),
    ) as errors.TenantryError
    expect(err).toBeInstanceOf(DuplicateKeyError)
    expect(err.writes).toEqual({
      insertedCount: 2,
      matchedCount: 1,
      modifiedCount: 1,
      deletedCount: 0,
      upsertedCount: 0,
      failures: [
        { index: 1, code: 'DUPLICATE_KEY' },
        { index: 3, code: 'INVALID_QUERY' },
      ],
    })
  })

  it('hand on a bulk write error untranslated when one of its writes met an outage', () => {
    const raw = bulkError([
      { code: 11000, index: 0 },
      { code: 91, index: 1 },
    ])
    expect(mongoQueryError(raw)).toBe(raw)
  })
})

describe.skipIf(!uri)('the MongoDB store on a real server', () => {
  const fresh = useMongoDatabases(uri)

  async function acme(tenancy: Tenancy) {
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    return tenancy.authenticate(accessToken)
  }

  it('hands out a collection with no way to the database, the client or tenantry’s own collections', async () => {
    const { db, prefix } = fresh()
    const tenant = await acme(
      createTenancy({ store: await migrated(mongoStore({ db, prefix, collections: notes })), auth: TEST_AUTH }),
    )
    const handle = tenant.collection('notes') as unknown as Record<string, unknown>
    for (const hatch of ['db', 'client', 's', 'drop', 'rename', 'createIndex', 'dropIndexes', 'watch', 'namespace'])
      expect(handle[hatch], hatch).toBeUndefined()
    await expect(
      tenant
        .collection('notes')
        .aggregate([{ $lookup: { from: `${prefix}admins`, pipeline: [], as: 'x' } }])
        .toArray(),
    ).rejects.toBeInstanceOf(TenantIsolationError)
  })

  it('keeps each tenant’s collections under its stable key with the declared indexes, across a rename (prefix)', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, collections: notes })),
      auth: TEST_AUTH,
    })
    const tenant = await acme(tenancy)
    const [name] = (
      await db.listCollections({ name: { $regex: `^${prefix}t_[0-9a-f]{24}_notes$` } }, { nameOnly: true }).toArray()
    ).map((info) => info.name)
    expect(name).toBeDefined()
    expect((await db.collection(name!).indexes()).map((index) => index.name)).toContain('recent')
    await tenant.collection('notes').insertOne({ text: 'kept', createdAt: new Date() })
    await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
    const renamed = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
    )
    expect(await renamed.collection('notes').countDocuments()).toBe(1)
    expect(await db.collection(name!).countDocuments()).toBe(1)
  })

  it('gives each tenant a database of its own under the database strategy', async () => {
    const { db, prefix } = fresh()
    await acme(
      createTenancy({
        store: await migrated(mongoStore({ db, prefix, strategy: 'database', collections: notes })),
        auth: TEST_AUTH,
      }),
    )
    const { databases } = await db.admin().listDatabases({ nameOnly: true })
    const tenantDb = databases
      .map((info) => info.name)
      .find((dbName) => new RegExp(`^${prefix}t_[0-9a-f]{24}$`).test(dbName))
    expect(tenantDb).toBeDefined()
    expect((await db.client.db(tenantDb!).collection('notes').indexes()).map((index) => index.name)).toContain('recent')
  })

  it('keeps every tenant in one collection per name under the shared strategy, with indexes led by the tenant field', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(
        mongoStore({
          db,
          prefix,
          strategy: 'shared',
          collections: { notes: { indexes: [{ key: { slug: 1 }, unique: true }] } },
        }),
      ),
      auth: TEST_AUTH,
    })
    const tenant = await acme(tenancy)
    await tenant.collection('notes').insertOne({ slug: 'same' })
    expect(await db.collection(`${prefix}data_notes`).findOne({})).toMatchObject({ slug: 'same', tenantId: tenant.id })
    expect((await db.collection(`${prefix}data_notes`).indexes()).map((index) => index.key)).toContainEqual({
      tenantId: 1,
      slug: 1,
    })
  })

  it('creates newly declared collections and indexes on existing tenants with migrate()', async () => {
    const { db, prefix } = fresh()
    const tenant = await acme(
      createTenancy({ store: await migrated(mongoStore({ db, prefix, collections: { notes: {} } })), auth: TEST_AUTH }),
    )
    const after = createTenancy({
      store: mongoStore({
        db,
        prefix,
        collections: { ...notes, invoices: { indexes: [{ key: { number: 1 }, name: 'number' }] } },
      }),
      auth: TEST_AUTH,
    })
    expect(await after.migrate()).toMatchObject({ migrated: 1 })
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name)
    expect(names).toContain(
      `${prefix}${(await storeOf(after).records.organizations.find({ id: tenant.id }))!.dataKey}_invoices`,
    )
    expect(await after.migrate()).toMatchObject({ migrated: 1 })
  })

  it('refuses a create past the namespace budget with CAPACITY_EXCEEDED, leaving nothing behind', async () => {
    const { db, prefix } = fresh()
    // notes: the collection, its _id index and one declared index = 3 namespaces per tenant.
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, collections: notes, maxNamespaces: 6 })),
      auth: TEST_AUTH,
    })
    for (const name of ['One', 'Two']) await tenancy.orgs.create({ name, email: `${name}@x.test`, password: PASSWORD })
    await expect(
      tenancy.orgs.create({ name: 'Three', email: 'three@x.test', password: PASSWORD }),
    ).rejects.toMatchObject({ code: 'CAPACITY_EXCEEDED' })
    expect(await tenancy.orgs.get('Three')).toBeNull()
    expect(await storeOf(tenancy).data.listKeys()).toHaveLength(2)
  })

  it('lets at most one of ten creates racing for the last slot of the budget through, leaving nothing of the others', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, collections: notes, maxNamespaces: 6 })),
      auth: TEST_AUTH,
    })
    await tenancy.orgs.create({ name: 'First', email: 'first@x.test', password: PASSWORD })
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        tenancy.orgs.create({ name: `Racer ${i}`, email: `racer${i}@x.test`, password: PASSWORD }),
      ),
    )
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected')
    expect(refused.length).toBeGreaterThanOrEqual(9)
    for (const outcome of refused)
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'CAPACITY_EXCEEDED' })
    const left = []
    for await (const org of storeOf(tenancy).records.organizations.list()) left.push(org)
    expect(left.length).toBeLessThanOrEqual(2)
    expect(left.every((org) => org.state === 'active')).toBe(true)
    expect((await storeOf(tenancy).data.listKeys()).length).toBe(left.length)
  })

  it('refuses a database-per-tenant create past maxDatabases with CAPACITY_EXCEEDED, leaving nothing behind', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, strategy: 'database', collections: notes, maxDatabases: 1 })),
      auth: TEST_AUTH,
    })
    await tenancy.orgs.create({ name: 'One', email: 'one@x.test', password: PASSWORD })
    await expect(tenancy.orgs.create({ name: 'Two', email: 'two@x.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'CAPACITY_EXCEEDED',
    })
    expect(await tenancy.orgs.get('Two')).toBeNull()
    expect(await storeOf(tenancy).data.listKeys()).toHaveLength(1)
  })

  it('reports only a taken name, slug, email or domain as taken: a duplicate _id is passed on as it is', async () => {
    const { db, prefix } = fresh()
    const store = await migrated(mongoStore({ db, prefix, collections: notes }))
    const now = new Date()
    const org = {
      id: 'same-id',
      name: 'One',
      nameKey: 'one',
      slug: 'one',
      dataKey: 't_000000000000000000000001',
      ownerId: 'm1',
      state: 'active' as const,
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    await store.records.organizations.insert(org)
    const error = await store.records.organizations
      .insert({ ...org, name: 'Two', nameKey: 'two', slug: 'two' })
      .catch((err: unknown) => err)
    expect(error).not.toMatchObject({ code: 'ORGANIZATION_NAME_TAKEN' })
    expect(error).toMatchObject({ code: 11000 })
    await expect(store.records.organizations.insert({ ...org, id: 'other', slug: 'three' })).rejects.toMatchObject({
      code: 'ORGANIZATION_NAME_TAKEN',
    })
    await expect(store.records.organizations.insert({ ...org, id: 'other', nameKey: 'three' })).rejects.toMatchObject({
      code: 'SLUG_TAKEN',
    })
  })

  it('reads and writes its own records on the primary with majority, whatever the host’s Db says', async () => {
    const { db, prefix } = fresh()
    const lax = db.client.db(db.databaseName, { readPreference: 'secondaryPreferred', writeConcern: { w: 0 } })
    const store = await migrated(mongoStore({ db: lax, prefix, collections: notes }))
    const now = new Date()
    const org = {
      id: 'o1',
      name: 'One',
      nameKey: 'one',
      slug: 'one',
      dataKey: 't_000000000000000000000001',
      ownerId: 'm1',
      state: 'active' as const,
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    await store.records.organizations.insert(org)
    // With w: 0 a conflict would never come back; with the store's own majority it does.
    await expect(store.records.organizations.insert({ ...org, id: 'o2', slug: 'two' })).rejects.toMatchObject({
      code: 'ORGANIZATION_NAME_TAKEN',
    })
    expect(await store.records.organizations.find({ id: 'o1' })).toMatchObject({ name: 'One' })
  })

  it('never sweeps the tenant databases of another store on the same cluster, even with the same prefix', async () => {
    const staging = fresh()
    const production = { db: staging.db.client.db(`${staging.prefix}production`), prefix: staging.prefix }
    const stagingTenancy = createTenancy({
      store: await migrated(mongoStore({ ...staging, strategy: 'database', collections: notes })),
      auth: TEST_AUTH,
    })
    const productionTenancy = createTenancy({
      store: await migrated(mongoStore({ ...production, strategy: 'database', collections: notes })),
      auth: TEST_AUTH,
    })
    const tenant = await acme(productionTenancy)
    await tenant.collection('notes').insertOne({ text: 'production data' })
    await acme(stagingTenancy)
    expect(await storeOf(stagingTenancy).data.listKeys()).toHaveLength(1)
    expect(await stagingTenancy.recover()).toMatchObject({ orphanDataSpacesDropped: 0 })
    expect(await tenant.collection('notes').countDocuments()).toBe(1)
  })

  it('deletes a database-per-tenant space collection by collection, so the readWrite role is enough', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, strategy: 'database', collections: notes })),
      auth: TEST_AUTH,
    })
    const tenant = await acme(tenancy)
    const dataKey = (await storeOf(tenancy).records.organizations.find({ id: tenant.id }))!.dataKey
    await tenancy.orgs.delete(tenant, 'Acme')
    expect(await db.client.db(`${prefix}${dataKey}`).listCollections().toArray()).toEqual([])
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0, orphanDataSpacesDropped: 0 })
  })

  it('drops data a write resurrected after its organization was deleted, at the next recovery', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, collections: notes })),
      auth: TEST_AUTH,
    })
    const tenant = await acme(tenancy)
    await tenancy.orgs.delete(tenant, 'Acme')
    // A request that resolved its tenant just before the delete writes just after it.
    await tenant.collection('notes').insertOne({ text: 'late write' })
    expect(await tenancy.recover()).toMatchObject({ orphanDataSpacesDropped: 1 })
    expect(await storeOf(tenancy).data.listKeys()).toEqual([])
  })

  it('keeps a tenant collection named spaces on the shared strategy apart from its own record of data spaces', async () => {
    const { db, prefix } = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ db, prefix, strategy: 'shared', collections: { spaces: {} } })),
      auth: TEST_AUTH,
    })
    const tenant = await acme(tenancy)
    await tenant.collection('spaces' as 'notes').insertMany([{ name: 'lobby' }, { name: 'garden' }])
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0, orphanDataSpacesDropped: 0 })
    expect(await tenant.collection('spaces' as 'notes').countDocuments()).toBe(2)
    expect(await db.collection(`${prefix}spaces`).countDocuments({ name: { $exists: true } })).toBe(0)
  })
})
