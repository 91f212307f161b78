/**
 * The shape of a tenant's collection, the same on every store and strategy: the everyday part
 * of the MongoDB driver's `Collection`, with the driver's result shapes. Types only.
 */

export type Document = Record<string, unknown>
/** A MongoDB query filter. */
export type Filter = Record<string, unknown>
/** Update operators (`{ $set: ... }`) or an aggregation pipeline of `$set` / `$unset` stages. */
export type UpdateFilter = Record<string, unknown> | Record<string, unknown>[]
export type Sort = Record<string, 1 | -1>
export type Projection = Record<string, unknown>

/** `locale` and `strength` as MongoDB's collation; the in-memory store applies them to sorting. */
export interface Collation {
  locale: string
  strength?: 1 | 2 | 3 | 4 | 5
  caseLevel?: boolean
  caseFirst?: 'upper' | 'lower' | 'off'
  numericOrdering?: boolean
  alternate?: 'non-ignorable' | 'shifted'
  maxVariable?: 'punct' | 'space'
  backwards?: boolean
}

/** Options every read takes: none of them can widen what the read sees. */
export interface ReadOptions {
  collation?: Collation
  /** An index name or key pattern; the in-memory store has no indexes to choose and ignores it. */
  hint?: string | Record<string, 1 | -1>
  comment?: string
  /** A time limit for the operation, in milliseconds: `QueryTimeoutError` past it. */
  maxTimeMS?: number
}

export interface FindOptions extends ReadOptions {
  sort?: Sort
  skip?: number
  limit?: number
  projection?: Projection
}

export interface CountOptions extends ReadOptions {
  skip?: number
  limit?: number
}

/**
 * The type of a document's `_id`: what its type declares, or `unknown` when it declares none,
 * since a generated id is a string on the in-memory store and an ObjectId on MongoDB.
 */
export type IdOf<T> = T extends { _id?: infer TId }
  ? unknown extends TId
    ? unknown
    : Exclude<TId, undefined>
  : unknown

export interface InsertOneResult<TId = unknown> {
  acknowledged: boolean
  insertedId: TId
}
export interface InsertManyResult<TId = unknown> {
  acknowledged: boolean
  insertedCount: number
  /** By position in the input, as the driver gives them. */
  insertedIds: Record<number, TId>
}
export interface UpdateResult {
  acknowledged: boolean
  matchedCount: number
  modifiedCount: number
  upsertedCount: number
  upsertedId: unknown
}
export interface DeleteResult {
  acknowledged: boolean
  deletedCount: number
}
export interface BulkWriteResult {
  insertedCount: number
  matchedCount: number
  modifiedCount: number
  deletedCount: number
  upsertedCount: number
  insertedIds: Record<number, unknown>
  upsertedIds: Record<number, unknown>
}

export type AnyBulkWriteOperation<T extends Document = Document> =
  | { insertOne: { document: T } }
  | { updateOne: { filter: Filter; update: UpdateFilter; upsert?: boolean } }
  | { updateMany: { filter: Filter; update: UpdateFilter; upsert?: boolean } }
  | { replaceOne: { filter: Filter; replacement: T; upsert?: boolean } }
  | { deleteOne: { filter: Filter } }
  | { deleteMany: { filter: Filter } }

/**
 * What `find` and `aggregate` return: iterate it, collect it with `toArray()`, or step through
 * it with `next()` / `hasNext()`, as with the driver's cursor.
 */
export interface TenantCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
  /** The next document, or `null` when there are no more. */
  next(): Promise<T | null>
  hasNext(): Promise<boolean>
  /** Releases the cursor; later calls find no more documents. */
  close(): Promise<void>
  /** A cursor whose documents pass through `transform` (before any are read). */
  map<R>(transform: (document: T) => R): TenantCursor<R>
}

/** A cursor from `find`, with the driver's chainable options. */
export interface TenantFindCursor<T> extends TenantCursor<T> {
  sort(sort: Sort): TenantFindCursor<T>
  skip(count: number): TenantFindCursor<T>
  limit(count: number): TenantFindCursor<T>
  project<P extends Document = Document>(projection: Projection): TenantFindCursor<P>
}

export interface UpdateOptions {
  upsert?: boolean
  arrayFilters?: Document[]
  collation?: Collation
  hint?: string | Record<string, 1 | -1>
  comment?: string
}
/** What a delete takes besides its filter. */
export interface WriteOptions {
  collation?: Collation
  hint?: string | Record<string, 1 | -1>
  comment?: string
}
export interface FindOneAndOptions extends ReadOptions {
  sort?: Sort
  projection?: Projection
  upsert?: boolean
  /** Default `'before'`, as in the driver. */
  returnDocument?: 'before' | 'after'
}

/**
 * One of the tenant's collections: `tenant.collection('notes')`. It reaches this tenant's
 * documents and nothing else: no `db`, no `client`, no admin operations, and on the shared
 * strategy every operation is confined to the tenant's own documents.
 */
export interface TenantCollection<T extends Document = Document> {
  /** The declared name, as in `tenant.collection(name)`. */
  readonly collectionName: string
  /** `insertedId` is typed as `T`'s `_id` when `T` declares one (`Register['collections']`). */
  insertOne(document: T): Promise<InsertOneResult<IdOf<T>>>
  insertMany(documents: T[]): Promise<InsertManyResult<IdOf<T>>>
  find(filter?: Filter, options?: FindOptions): TenantFindCursor<T & Document>
  findOne(filter?: Filter, options?: Omit<FindOptions, 'limit'>): Promise<(T & Document) | null>
  countDocuments(filter?: Filter, options?: CountOptions): Promise<number>
  estimatedDocumentCount(): Promise<number>
  distinct(key: string, filter?: Filter, options?: ReadOptions): Promise<unknown[]>
  /**
   * A pipeline of allowed stages. `$lookup`, `$graphLookup` and `$unionWith` may join any
   * collection the store declares, and reach the tenant's own documents in it.
   */
  aggregate<R extends Document = Document>(pipeline: Document[], options?: ReadOptions): TenantCursor<R>
  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  replaceOne(filter: Filter, replacement: T, options?: { upsert?: boolean }): Promise<UpdateResult>
  deleteOne(filter: Filter, options?: WriteOptions): Promise<DeleteResult>
  deleteMany(filter: Filter, options?: WriteOptions): Promise<DeleteResult>
  findOneAndUpdate(filter: Filter, update: UpdateFilter, options?: FindOneAndOptions): Promise<(T & Document) | null>
  findOneAndReplace(filter: Filter, replacement: T, options?: FindOneAndOptions): Promise<(T & Document) | null>
  findOneAndDelete(
    filter: Filter,
    options?: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'>,
  ): Promise<(T & Document) | null>
  bulkWrite(operations: AnyBulkWriteOperation<T>[], options?: { ordered?: boolean }): Promise<BulkWriteResult>
}

/** An index a store creates on a declared collection (on the shared strategy, led by the tenant field). */
export interface IndexSpec {
  key: Record<string, 1 | -1>
  name?: string
  unique?: boolean
}

/** What a store is told about one declared collection. */
export interface CollectionDeclaration {
  indexes?: IndexSpec[]
}

/** `collections` in `memoryStore({ collections })` / `mongoStore({ collections })`. */
export type CollectionDeclarations = Record<string, CollectionDeclaration>
