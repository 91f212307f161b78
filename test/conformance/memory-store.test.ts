import { memoryStore } from 'tenantry'
import { describeStoreConformance } from './store-conformance.js'

const collections = {
  notes: { indexes: [{ key: { text: 1 as const } }] },
  invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] },
}

describeStoreConformance({ name: 'in-memory isolated', create: () => memoryStore({ collections }) })
describeStoreConformance({
  name: 'in-memory shared',
  create: () => memoryStore({ collections, strategy: 'shared' }),
  keysAreIds: true,
})
