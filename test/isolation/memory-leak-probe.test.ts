import { memoryStore } from 'tenantry'
import { describeLeakProbe } from './leak-probe.js'

const collections = { notes: {}, invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] } }

// The memory store has no collection names underneath: the attacker aims at the declared ones' likely MongoDB names.
for (const strategy of ['isolated', 'shared'] as const) {
  describeLeakProbe(`in-memory ${strategy}`, () => ({
    store: memoryStore({ strategy, collections }),
    physical: 'tenantry_data_<name>',
  }))
}
