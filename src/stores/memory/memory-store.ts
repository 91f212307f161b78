import type { CollectionDeclarations, IndexSpec } from '../../data/collection-types.js'
import { parseDeclarations, parseTenantField } from '../../data/declarations.js'
import { ScopedCollection } from '../../data/scoped-collection.js'
import { OrganizationNotFoundError } from '../../errors.js'
import type { OrganizationRecord } from '../../control/records.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import type { Store } from '../../store.js'
import { MemoryCollection } from './memory-collection.js'
import type { MemoryCollectionOptions } from './memory-collection-options.js'
import { memoryRecords } from './memory-records.js'

export interface MemoryStoreOptions {
  /** The collections every tenant has, with their indexes: `{ notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } }`. */
  collections?: CollectionDeclarations
  /**
   * `'isolated'` (default): each tenant's collections are its own. `'shared'`: the same
   * partitions, with the MongoDB `'shared'` strategy's rules (the tenant field is tenantry's,
   * `_id`s are generated), so code tested here behaves as it will there.
   */
  strategy?: 'isolated' | 'shared'
  /** With `strategy: 'shared'`: the field that holds the organization id. Default `'tenantId'`. */
  tenantField?: string
  /**
   * How long one operation on a tenant's data may run when it gives no `maxTimeMS` of its own,
   * in milliseconds: past it, `QueryTimeoutError`. Default 5,000.
   */
  maxTimeMS?: number
  /**
   * How many values (array elements, string characters, object fields) one operation on a
   * tenant's data may make, whatever it frees meanwhile: past it, `QueryLimitError`. Default
   * 4,000,000, some 100 MB of heap at worst.
   */
  maxAllocation?: number
}

/**
 * The embedded default store: records and tenant data in this process's memory, lost on exit.
 * It keeps the rules a database would (unique keys claimed atomically, copies in and out), so
 * code tested on it behaves as on MongoDB or PostgreSQL.
 *
 * @example
 * const tenancy = createTenancy({ store: memoryStore({ collections: { notes: {} } }), auth: { secret } })
 */
export function memoryStore(options: MemoryStoreOptions = {}): Store {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('tenantry: memoryStore options must be an object')
  const { strategy = 'isolated' } = options
  if (strategy !== 'isolated' && strategy !== 'shared')
    throw new TypeError("tenantry: memoryStore's strategy must be 'isolated' or 'shared'")
  const declared = parseDeclarations(options.collections)
  const tenantField = strategy === 'shared' ? parseTenantField(options.tenantField) : undefined
  if (options.maxTimeMS !== undefined && !(Number.isSafeInteger(options.maxTimeMS) && options.maxTimeMS > 0))
    throw new TypeError('tenantry: memoryStore maxTimeMS must be a positive whole number of milliseconds')
  if (
    options.maxAllocation !== undefined &&
    !(Number.isSafeInteger(options.maxAllocation) && options.maxAllocation > 0)
  )
    throw new TypeError('tenantry: memoryStore maxAllocation must be a positive whole number of values')
  const { maxTimeMS, maxAllocation } = options
  return { records: memoryRecords(), data: partitionedData(declared, tenantField, { maxTimeMS, maxAllocation }) }
}

/**
 * Each tenant's documents in a partition of their own, on both strategies: a query, however it
 * is written, runs over one tenant's documents and no one else's. `'shared'` adds its rules (the
 * tenant field is tenantry's, `_id`s are generated) so code tested here behaves as on MongoDB's
 * `'shared'`. A provisioned space is an entry; its collections are made on first use, so idle
 * tenants cost a map entry each.
 */
function partitionedData(
  declared: Map<string, IndexSpec[]>,
  tenantField: string | undefined,
  bounds: Pick<MemoryCollectionOptions, 'maxTimeMS' | 'maxAllocation'>,
): TenantDataProvider {
  const spaces = new Map<string, Map<string, MemoryCollection>>()
  const keyOf = (org: Pick<OrganizationRecord, 'id' | 'dataKey'>) => (tenantField === undefined ? org.dataKey : org.id)
  return {
    collectionNames: Object.freeze([...declared.keys()]),
    async provision(org) {
      if (!spaces.has(keyOf(org))) spaces.set(keyOf(org), new Map())
    },
    async drop(org) {
      spaces.delete(keyOf(org))
    },
    async listKeys() {
      return [...spaces.keys()]
    },
    collection(org, name) {
      const space = spaces.get(keyOf(org))
      // Reachable only when a delete finished between resolving the tenant and this call.
      if (!space) throw new OrganizationNotFoundError('the organization no longer exists')
      const partition = (collection: string): MemoryCollection | undefined => {
        if (!declared.has(collection)) return undefined
        let found = space.get(collection)
        if (!found) {
          found = new MemoryCollection({ indexes: declared.get(collection), ...bounds, resolveCollection: partition })
          space.set(collection, found)
        }
        return found
      }
      const tenant = tenantField === undefined ? null : { field: tenantField, value: org.id }
      return new ScopedCollection(partition(name)!, name, {
        tenant,
        mixed: false,
        joinTarget: (target) => (declared.has(target) ? target : undefined),
      })
    },
  }
}
