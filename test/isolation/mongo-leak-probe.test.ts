import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { describeLeakProbe } from './leak-probe.js'

const uri = inject('mongoUri')

describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  describeLeakProbe('MongoDB', () => {
    const database = fresh()
    return {
      store: mongoStore({ ...database, strategy: 'shared', collections: { notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } } }),
      // The real collection every tenant's invoices live in, with this test's own prefix.
      sharedCollection: `${database.prefix}data_invoices`,
    }
  })
})
