import type { Collection, Db } from 'mongodb'
import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { describeStoreConformance } from './store-conformance.js'

const uri = inject('mongoUri')

/** Each test gets its own database and prefix; everything they name is dropped after it. */
describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)

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
