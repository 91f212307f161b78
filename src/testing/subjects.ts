import type { RecordStore } from '../control/record-store.js'
import type { CollectionDeclarations } from '../data/collection-types.js'
import type { TenantDataProvider } from '../data/tenant-data-provider.js'
import type { Store } from '../store.js'

/**
 * The collections a store under test must declare: the suites write notes and invoices, and
 * rely on the unique index on `invoices.number`.
 */
export const CONFORMANCE_COLLECTIONS = Object.freeze({
  notes: { indexes: [{ key: { text: 1 as const } }] },
  invoices: { indexes: [{ key: { number: 1 as const }, unique: true }] },
}) satisfies CollectionDeclarations

/** What a test file hands a suite: a name for the report, and a factory called once per test. */
export interface RecordStoreUnderTest<TStore = RecordStore> {
  name: string
  /** A fresh, empty store; called once per test. The suites migrate it first, as a deploy would. */
  create(): Promise<TStore> | TStore
}

export interface DataProviderUnderTest extends RecordStoreUnderTest<TenantDataProvider> {
  /** The shared strategy keys tenant data by organization id rather than data key. */
  keysAreIds?: boolean
  /**
   * The name of the real collection or table behind a declared one, as an attacker who guessed
   * it would aim at it. Default `tenantry_data_<name>`.
   */
  physicalName?: (collection: string) => string
}

/** A whole store: `create()` returns records and data (`CONFORMANCE_COLLECTIONS` declared). */
export interface StoreUnderTest extends RecordStoreUnderTest<Store> {
  keysAreIds?: boolean
  physicalName?: (collection: string) => string
}

/** Each fresh store migrated before its test, as a deploy migrates before the new version serves. */
export function migrated<
  TSubject extends RecordStoreUnderTest<TStore>,
  TStore extends Store | RecordStore | TenantDataProvider,
>(subject: TSubject): TSubject {
  return {
    ...subject,
    async create() {
      const store = await subject.create()
      if ('records' in store) {
        await store.records.migrate?.()
        await store.data.migrate?.()
      } else await store.migrate?.()
      return store
    },
  }
}
