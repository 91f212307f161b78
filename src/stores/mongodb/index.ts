export { mongoStore, type MongoStoreOptions } from './mongo-store.js'
export type { MongoStrategy } from './mongo-tenant-data.js'
