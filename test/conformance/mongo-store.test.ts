import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { describeStoreConformance } from './store-conformance.js'

const uri = inject('mongoUri')
const collections = {
  notes: { indexes: [{ key: { text: 1 as const } }] },
  invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] },
}

/** Each test gets its own database and prefix; everything they name is dropped after it. */
describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  describeStoreConformance({
    name: 'MongoDB prefix',
    create: () => mongoStore({ ...fresh(), strategy: 'prefix', collections }),
  })
  describeStoreConformance({
    name: 'MongoDB database-per-tenant',
    create: () => mongoStore({ ...fresh(), strategy: 'database', collections }),
  })
  describeStoreConformance({
    name: 'MongoDB shared',
    create: () => mongoStore({ ...fresh(), strategy: 'shared', collections }),
    keysAreIds: true,
  })
})
