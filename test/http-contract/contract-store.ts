import type { Store } from 'tenantry/store'
import { notesStore } from '../support/notes-store.js'

/**
 * Which store a contract suite runs its tenancies on: a name for the report, and a fresh store
 * per test, migrated as a deploy leaves it.
 */
export interface ContractStore {
  name: string
  create(): Store | Promise<Store>
}

export const MEMORY: ContractStore = { name: 'the memory store', create: () => notesStore() }
