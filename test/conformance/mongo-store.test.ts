import { describe, inject } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { CONFORMANCE_COLLECTIONS as collections, describeStore } from 'tenantry/testing'
import { shardShared, useMongoDatabases } from '../support/mongo-databases.js'

const uri = inject('mongoUri')

/** Each test gets its own database and prefix; everything they name is dropped after it. */
describe.skipIf(!uri)('MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  let prefix = ''
  // 'database' makes a database per tenant, which a user with readWrite on one database cannot.
  const strategies = process.env.MONGODB_TEST_DATABASE
    ? (['prefix', 'shared'] as const)
    : (['prefix', 'database', 'shared'] as const)
  for (const strategy of strategies) {
    describeStore({
      name: `MongoDB ${strategy}`,
      create: async () => {
        const database = fresh()
        prefix = database.prefix
        // On the sharded job, the 'shared' collections are sharded on the recommended key first.
        if (strategy === 'shared') await shardShared(database, Object.keys(collections))
        return mongoStore({ ...database, strategy, collections })
      },
      keysAreIds: strategy === 'shared',
      // The real collection behind a declared one, with this test's prefix, as an attacker who guessed it would aim at it.
      physicalName: (collection) =>
        strategy === 'shared' ? `${prefix}data_${collection}` : `${prefix}t_${collection}`,
    })
  }
})
