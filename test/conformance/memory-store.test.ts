import { memoryStore } from 'tenantry'
import { describeStoreConformance } from './store-conformance.js'

const collections = { notes: { indexes: [{ key: { text: 1 as const } }] }, invoices: {} }

describeStoreConformance({ name: 'in-memory isolated', create: () => memoryStore({ collections }) })
describeStoreConformance({ name: 'in-memory shared', create: () => memoryStore({ collections, strategy: 'shared' }), keysAreIds: true })
