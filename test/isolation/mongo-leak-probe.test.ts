import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { describeLeakProbe } from './leak-probe.js'

const uri = inject('mongoUri')
const collections = { notes: {}, invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] } }

describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  for (const strategy of ['prefix', 'database', 'shared'] as const) {
    describeLeakProbe(`MongoDB ${strategy}`, () => {
      const database = fresh()
      return {
        store: mongoStore({ ...database, strategy, collections }),
        // The real collection every tenant's documents live in on 'shared', with this test's own prefix.
        physical: `${database.prefix}data_<name>`,
      }
    })
  }
})
