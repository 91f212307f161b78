import { memoryStore } from 'tenantry'
import { CONFORMANCE_COLLECTIONS as collections, describeStore } from 'tenantry/testing'

describeStore({ name: 'in-memory isolated', create: () => memoryStore({ collections }) })
describeStore({
  name: 'in-memory shared',
  create: () => memoryStore({ collections, strategy: 'shared' }),
  keysAreIds: true,
})
