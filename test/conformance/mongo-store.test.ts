import { randomBytes } from 'node:crypto'
import { MongoClient, type Collection, type Db } from 'mongodb'
import { afterAll, afterEach, beforeAll, describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { describeStoreConformance } from './store-conformance.js'

const uri = inject('mongoUri')

/** Each test gets its own database and prefix; everything they name is dropped after it. */
describe.skipIf(!uri)('MongoDB', () => {
  let client: MongoClient
  const prefixes: string[] = []

  beforeAll(async () => {
    client = await MongoClient.connect(uri)
  })
  afterEach(async () => {
    const { databases } = await client.db().admin().listDatabases({ nameOnly: true })
    for (const { name } of databases) if (prefixes.some((prefix) => name.startsWith(prefix))) await client.db(name).dropDatabase()
    prefixes.length = 0
  })
  afterAll(async () => {
    await client?.close()
  })

  const fresh = () => {
    const prefix = `tt${randomBytes(4).toString('hex')}_`
    prefixes.push(prefix)
    return { db: client.db(`${prefix}master`), prefix }
  }

  describeStoreConformance<Collection>({
    name: 'MongoDB collection-per-tenant',
    create: () => mongoStore({ ...fresh(), strategy: 'collection' }),
    write: async (data, doc) => {
      await data.insertOne({ ...doc })
    },
    read: async (data) => (await data.find({}).toArray()).map((doc) => String(doc.text)),
  })

  describeStoreConformance<Db>({
    name: 'MongoDB database-per-tenant',
    create: () => mongoStore({ ...fresh(), strategy: 'database' }),
    write: async (data, doc) => {
      await data.collection('notes').insertOne({ ...doc })
    },
    read: async (data) => (await data.collection('notes').find({}).toArray()).map((doc) => String(doc.text)),
  })
})
