import { memoryStore } from 'tenantry'
import { describeLeakProbe } from './leak-probe.js'

describeLeakProbe('in-memory', () => ({
  store: memoryStore({ strategy: 'shared', collections: { notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } } }),
  sharedCollection: 'invoices',
}))
