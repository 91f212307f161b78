import type { RecordStore } from './control/record-store.js'
import type { TenantDataProvider } from './data/tenant-data-provider.js'

/**
 * What `createTenancy` runs on: a record store (organizations, accounts, memberships, ...) and
 * a tenant-data provider. `memoryStore()` and `mongoStore()` are both; a host may combine the
 * records of one with the data of another.
 *
 * @example
 * const mongo = mongoStore({ db, collections })
 * createTenancy({ store: { records: mongo.records, data: mongo.data }, auth })
 */
export interface Store {
  readonly records: RecordStore
  readonly data: TenantDataProvider
}
