/**
 * The MongoDB store, over the host's own `Db` from the official driver.
 *
 * @packageDocumentation
 * @module tenantry/mongodb
 */
export { mongoStore, type MongoStoreOptions } from './mongo-store.js'
export type { MongoStrategy } from './mongo-tenant-data.js'
