import { describe, expect, inject, it } from 'vitest'
import { createTenancy, type Tenancy, type Tenant } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { migrated, shardShared, useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const uri = inject('mongoUri')
// The examples' Register types collection names as 'notes' only; this file declares its own.
const invoicesOf = (tenant: Tenant) => tenant.collection('invoices' as 'notes')
const invoices = { invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] } }

// The sharded job in CI (a config server, one shard, a mongos) sets MONGODB_SHARDED; elsewhere this skips.
describe.skipIf(!uri || !process.env.MONGODB_SHARDED)('the MongoDB store on a sharded cluster', () => {
  const fresh = useMongoDatabases(uri)

  async function member(tenancy: Tenancy, name: string) {
    const email = `owner@${name.toLowerCase()}.test`
    await tenancy.orgs.create({ name, email, password: PASSWORD })
    return tenancy.authenticate((await tenancy.auth.login({ email, password: PASSWORD })).accessToken)
  }

  it('cannot build a declared unique index when the shard key ends in _id, which is why the docs recommend { tenantId: 1 }', async () => {
    const database = fresh()
    await shardShared(database, ['invoices'], { tenantId: 1, _id: 1 })
    const store = mongoStore({ ...database, strategy: 'shared', collections: invoices })
    await expect(store.data.migrate?.()).rejects.toThrow(/shard key/i)
  })

  it('keeps declared unique keys unique per tenant and upserts through a tenant handle on { tenantId: 1 }', async () => {
    const database = fresh()
    await shardShared(database, ['invoices'])
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ ...database, strategy: 'shared', collections: invoices })),
      auth: TEST_AUTH,
    })
    const acme = await member(tenancy, 'Acme')
    const globex = await member(tenancy, 'Globex')
    await invoicesOf(acme).insertOne({ number: 1 })
    await invoicesOf(globex).insertOne({ number: 1 })
    // A tenant handle answers the typed error, as on every store; the server's 11000 is its cause.
    await expect(invoicesOf(acme).insertOne({ number: 1 })).rejects.toMatchObject({
      code: 'DUPLICATE_KEY',
      cause: { code: 11000 },
    })
    await invoicesOf(acme).updateOne({ number: 2 }, { $set: { paid: true } }, { upsert: true })
    await invoicesOf(globex).replaceOne({ number: 2 }, { number: 2, paid: false }, { upsert: true })
    const stored = await database.db
      .collection(`${database.prefix}data_invoices`)
      .find({ number: 2 }, { projection: { _id: 0, tenantId: 1, paid: 1 } })
      .sort({ paid: 1 })
      .toArray()
    expect(stored).toEqual([
      { tenantId: globex.id, paid: false },
      { tenantId: acme.id, paid: true },
    ])
    const info = await database.db.admin().command({ listShards: 1 })
    expect(info.shards.length).toBeGreaterThan(0)
  })

  it('deletes a database-per-tenant space so that recover() finds nothing, and the documented clean-up clears what the cluster keeps', async () => {
    const database = fresh()
    const tenancy = createTenancy({
      store: await migrated(mongoStore({ ...database, strategy: 'database', collections: invoices })),
      auth: TEST_AUTH,
    })
    const acme = await member(tenancy, 'Acme')
    await invoicesOf(acme).insertOne({ number: 1 })
    const spaces = database.db.collection<{ _id: string; droppedAt?: Date }>(`${database.prefix}spaces`)
    const [space] = await spaces.find({}).toArray()
    await tenancy.orgs.delete(acme, 'Acme')
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0, orphanDataSpacesDropped: 0 })

    // docs/data-and-strategies.md: every tombstoned space's database, dropped by an operator.
    const config = database.db.client.db('config').collection<{ _id: string }>('databases')
    for (const { _id } of await spaces.find({ droppedAt: { $exists: true } }).toArray())
      if (await config.findOne({ _id: `${database.prefix}${_id}` }))
        await database.db.client.db(`${database.prefix}${_id}`).dropDatabase()
    expect(await config.findOne({ _id: `${database.prefix}${space!._id}` })).toBeNull()
  })
})
