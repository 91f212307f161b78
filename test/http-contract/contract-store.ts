import type { Store } from 'tenantry/store'
import { notesStore } from '../support/notes-store.js'

/** Which store a contract suite runs its tenancies on: a name for the report, and a fresh store per test. */
export interface ContractStore {
  name: string
  create(): Store
}

export const MEMORY: ContractStore = { name: 'the memory store', create: () => notesStore() }
