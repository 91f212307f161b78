import type { OrganizationRecord } from '../control/records.js'
import type { TenantCollection } from './collection-types.js'
import type { SqlClient, SqlResult } from './sql-client.js'
import type { SqlQueryOptions, SqlTransactionOptions } from './sql-options.js'

/**
 * The data plane's storage contract: where each tenant's documents live, and the handle a
 * tenant reaches them through. `tenantry/testing`'s `describeDataIsolation` (the differential
 * leak probe) is what proves a provider keeps one tenant's data from every other.
 *
 * @example
 * const store: Store = { records: mongoStore({ db }).records, data: memoryStore().data }
 */
export interface TenantDataProvider {
  /** The collection names this provider declares; `tenant.collection(name)` takes only these. */
  readonly collectionNames: readonly string[]
  /**
   * Builds what every tenant shares (MongoDB's `'shared'` collections and their indexes).
   * Idempotent; `tenancy.migrate()` runs it, once per deploy, before it provisions each tenant.
   */
  migrate?(): Promise<void>
  /**
   * Creates the tenant's data space: every declared collection and its indexes. Idempotent, so it
   * also migrates. A provider that shares its database with others records the space in its own
   * metadata before creating it, so it only ever lists and sweeps spaces it made.
   */
  provision(org: OrganizationRecord): Promise<void>
  /**
   * Removes the tenant's data and everything in it: its collections, or on a shared strategy its
   * documents in every declared collection. Idempotent. Orphans are dropped by their key alone,
   * passed as both fields.
   */
  drop(org: Pick<OrganizationRecord, 'id' | 'dataKey'>): Promise<void>
  /**
   * The key of every data space this provider made and has not dropped, whether or not an
   * organization still points at it: the data key, or on a shared strategy the organization id
   * the documents carry. Never a space another store, app or environment made on the same
   * server. The way to find orphans after a crash, and what the conformance suite checks.
   */
  listKeys(): Promise<string[]>
  /**
   * The tenant's collection `name`, one of `collectionNames`: the handle every operation of the
   * tenant goes through. Synchronous and cheap. A provider that can tell without a round trip
   * throws `OrganizationNotFoundError` when the data space is gone; one that cannot (MongoDB)
   * hands out a handle to an empty space.
   */
  collection(org: OrganizationRecord, name: string): TenantCollection
  /**
   * Throws `CapacityExceededError` when one more tenant would take the provider past its budget
   * (MongoDB's `maxNamespaces`). Asked before each create; a provider without a budget omits it.
   */
  assertCapacity?(): Promise<void>
  /**
   * A SQL store's way in: runs `fn` with a connection inside a transaction in which the database
   * itself confines every statement to the tenant (row-level security, or the tenant's own
   * schema and role), committed when `fn` resolves and rolled back when it throws. Document
   * stores omit it; `tenant.transaction` then throws `UnsupportedQueryError`. `options` (checked
   * by the caller) replace the store's timeouts for this transaction.
   */
  transaction?<TResult>(
    org: OrganizationRecord,
    fn: (client: SqlClient) => Promise<TResult>,
    options?: SqlTransactionOptions,
  ): Promise<TResult>
  /** One statement in its own `transaction`, in as few round trips as the store can send it. */
  query?<TRow>(
    org: OrganizationRecord,
    text: string,
    values?: unknown[],
    options?: SqlQueryOptions,
  ): Promise<SqlResult<TRow>>
}
