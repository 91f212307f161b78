import { memoryStore, type MemoryStoreOptions } from 'tenantry'

/** An in-memory store that declares the `notes` collection the example apps and most tests use. */
export function notesStore(options: Omit<MemoryStoreOptions, 'collections'> = {}) {
  return memoryStore({ collections: { notes: {} }, ...options })
}
