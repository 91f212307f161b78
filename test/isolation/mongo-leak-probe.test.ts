import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { useMongoDatabases } from '../support/mongo-databases.js'
import { describeLeakProbe } from './leak-probe.js'

const uri = inject('mongoUri')

describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  let prefix = ''
  describeLeakProbe(
    'MongoDB',
    () => {
      const database = fresh()
      prefix = database.prefix
      return mongoStore({ ...database, strategy: 'shared', collections: { notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } } })
    },
    // The stages name the real shared collection, as an attacker who guessed it would.
    `${prefix || 'tenantry_'}data_invoices`,
  )
})
