import type { TenantCollection } from '../data/collection-types.js'
import type { SqlClient, SqlResult } from '../data/sql-client.js'
import { type SqlQueryOptions, type SqlTransactionOptions, sqlOptions } from '../data/sql-options.js'
import { UnknownCollectionError, UnsupportedQueryError } from '../errors.js'
import type { Store } from '../store.js'
import type { OrganizationRecord } from '../control/records.js'
import type { Tenant } from '../tenant.js'

// Tenants tenantry made itself. `tenancy.run` takes one of these as is; anything else it is
// given is a reference to resolve, so a hand-made `{ id, collection }` can never smuggle in a handle.
const minted = new WeakSet<object>()

/** Freezes and brands a tenant: one object may serve many requests, so none may change it. */
export function mintTenant<TTenant extends Tenant>(fields: TTenant): TTenant {
  const tenant = Object.freeze(fields)
  minted.add(tenant)
  return tenant
}

/**
 * The tenant for an organization record. Its collection handles are made on first use and kept
 * for the life of the tenant object (a change to the organization makes a new one).
 */
export function tenantOf(record: OrganizationRecord, store: Store): Tenant {
  const handles = new Map<string, TenantCollection>()
  const collection = (name: string): TenantCollection => {
    let handle = handles.get(name)
    if (handle === undefined) {
      if (typeof name !== 'string' || !store.data.collectionNames.includes(name)) {
        throw new UnknownCollectionError(
          `no collection ${JSON.stringify(name)} is declared; the store declares ${store.data.collectionNames.map((known) => JSON.stringify(known)).join(', ') || 'none'} (collections: { ... } in its options)`,
        )
      }
      handle = store.data.collection(record, name)
      handles.set(name, handle)
    }
    return handle
  }
  // Async, so a misuse (checked here for every store) rejects like any other failure of the call.
  const transaction = async <TResult>(
    fn: (client: SqlClient) => Promise<TResult>,
    options?: SqlTransactionOptions,
  ): Promise<TResult> => {
    if (typeof fn !== 'function') throw new TypeError('tenantry: tenant.transaction needs a function')
    const checked = sqlOptions(options, TRANSACTION_OPTIONS)
    if (!store.data.transaction)
      throw new UnsupportedQueryError('this store keeps documents, not SQL tables: use tenant.collection(name)')
    return store.data.transaction(record, fn, checked)
  }
  const query = async <TRow>(text: string, values?: unknown[], options?: SqlQueryOptions): Promise<SqlResult<TRow>> => {
    const checked = sqlOptions(options, QUERY_OPTIONS)
    return store.data.query
      ? store.data.query<TRow>(record, text, values, checked)
      : transaction((client) => client.query<TRow>(text, values), checked)
  }
  return mintTenant({
    id: record.id,
    name: record.name,
    slug: record.slug,
    collection: collection as Tenant['collection'],
    transaction,
    query,
  })
}

const TRANSACTION_OPTIONS = ['statementTimeoutMs', 'idleInTransactionTimeoutMs'] as const
const QUERY_OPTIONS = ['statementTimeoutMs'] as const

export function isMintedTenant(value: unknown): value is Tenant {
  return typeof value === 'object' && value !== null && minted.has(value)
}
