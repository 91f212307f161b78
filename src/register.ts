import type { MemoryCollection } from './stores/memory/memory-collection.js'
import type { Tenant } from './tenant.js'

/**
 * Tells the adapters' types which data handle `req.tenant.data` / `ctx.state.tenant.data` is.
 * It defaults to the in-memory store's `MemoryCollection`; a host on another store declares:
 *
 * @example
 * declare module 'tenantry' {
 *   interface Register { tenantData: import('mongodb').Collection }
 * }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Register {}

/** The data handle type the host registered, or `MemoryCollection`. */
export type RegisteredTenantData = Register extends { tenantData: infer TData } ? TData : MemoryCollection

/** The tenant type `tenantScope` attaches to a request. */
export type RegisteredTenant = Tenant<RegisteredTenantData>
