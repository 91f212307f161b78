export { mongoStore, type MongoStoreOptions } from './mongo-store.js'
