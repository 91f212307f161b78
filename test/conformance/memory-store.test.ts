import { memoryStore, type MemoryCollection } from 'tenantry'
import { describeStoreConformance } from './store-conformance.js'

describeStoreConformance<MemoryCollection>({
  name: 'in-memory',
  create: () => memoryStore(),
  write: async (data, doc) => {
    await data.insertOne(doc)
  },
  read: async (data) => (await data.find({}).toArray()).map((doc) => String(doc.text)),
})
