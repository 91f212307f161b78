import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  DeleteResult,
  Document,
  Filter,
  FindOneAndOptions,
  FindOptions,
  InsertManyResult,
  IdOf,
  InsertOneResult,
  TenantCollection,
  TenantCursor,
  TenantFindCursor,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
} from './collection-types.js'
import { checkOptions, isPlainObject, scopeDocument, scopeFilter, scopePipeline, scopeUpdate, scopeUpsertFilter, type TenantField } from './isolation-rules.js'
import { TenantIsolationError } from '../errors.js'

interface CursorLike<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
}

/**
 * What a scoped collection calls underneath: the MongoDB driver's `Collection`, or the in-memory
 * store's `MemoryCollection`, which has the same methods and result shapes.
 */
export interface DriverCollection {
  insertOne(document: Document): Promise<InsertOneResult>
  insertMany(documents: Document[]): Promise<InsertManyResult>
  find(filter: Filter, options?: FindOptions): CursorLike<Document>
  findOne(filter: Filter, options?: Omit<FindOptions, 'limit'>): Promise<Document | null>
  countDocuments(filter: Filter, options?: { skip?: number; limit?: number }): Promise<number>
  estimatedDocumentCount(): Promise<number>
  distinct(key: string, filter: Filter): Promise<unknown[]>
  aggregate(pipeline: Document[]): CursorLike<Document>
  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  replaceOne(filter: Filter, replacement: Document, options?: { upsert?: boolean }): Promise<UpdateResult>
  deleteOne(filter: Filter): Promise<DeleteResult>
  deleteMany(filter: Filter): Promise<DeleteResult>
  findOneAndUpdate(filter: Filter, update: UpdateFilter, options: FindOneAndOptions & { includeResultMetadata: false }): Promise<Document | null>
  findOneAndReplace(filter: Filter, replacement: Document, options: FindOneAndOptions & { includeResultMetadata: false }): Promise<Document | null>
  findOneAndDelete(filter: Filter, options: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'> & { includeResultMetadata: false }): Promise<Document | null>
  bulkWrite(operations: AnyBulkWriteOperation[], options?: { ordered?: boolean }): Promise<BulkWriteResult>
}

const FIND = ['sort', 'skip', 'limit', 'projection'] as const
const UPDATE = ['upsert', 'arrayFilters'] as const
const FIND_ONE_AND = ['sort', 'projection', 'upsert', 'returnDocument'] as const

/**
 * A tenant's collection over a driver-shaped one, the one module every store and strategy
 * hands tenants through. Only the methods below exist (no `db`, `client`, `drop`, index or
 * `watch`), the collection underneath sits in a private field, and every argument passes the
 * allow-list rules in `isolation-rules.ts` before it reaches the store. With a tenant field
 * (the shared strategy), every read and write is also confined to the tenant's documents.
 */
export class ScopedCollection<T extends Document = Document> implements TenantCollection<T> {
  readonly collectionName: string
  readonly #target: DriverCollection
  readonly #scope: TenantField | null

  constructor(target: DriverCollection, name: string, scope: TenantField | null) {
    this.#target = target
    this.collectionName = name
    this.#scope = scope
  }

  // The id is the stored document's own: the type its declaration gives it.
  insertOne(document: T): Promise<InsertOneResult<IdOf<T>>> {
    return settle(() => this.#target.insertOne(scopeDocument(document, this.#scope))) as Promise<InsertOneResult<IdOf<T>>>
  }

  async insertMany(documents: T[]): Promise<InsertManyResult<IdOf<T>>> {
    if (!Array.isArray(documents)) throw new TenantIsolationError('insertMany takes an array of documents')
    return (await this.#target.insertMany(documents.map((document) => scopeDocument(document, this.#scope)))) as InsertManyResult<IdOf<T>>
  }

  find(filter?: Filter, options?: FindOptions): TenantFindCursor<T & Document> {
    checkOptions(options, FIND, 'find')
    return new ScopedFindCursor(this.#target, scopeFilter(filter, this.#scope), { ...options })
  }

  findOne(filter?: Filter, options?: Omit<FindOptions, 'limit'>): Promise<(T & Document) | null> {
    return settle(() => {
      checkOptions(options, ['sort', 'skip', 'projection'], 'findOne')
      return this.#target.findOne(scopeFilter(filter, this.#scope), options) as Promise<(T & Document) | null>
    })
  }

  async countDocuments(filter?: Filter, options?: { skip?: number; limit?: number }): Promise<number> {
    checkOptions(options, ['skip', 'limit'], 'countDocuments')
    return this.#target.countDocuments(scopeFilter(filter, this.#scope), options)
  }

  /** On the shared strategy an exact count of the tenant's documents (the collection's estimate would count everyone's). */
  async estimatedDocumentCount(): Promise<number> {
    return this.#scope ? this.#target.countDocuments(scopeFilter({}, this.#scope)) : this.#target.estimatedDocumentCount()
  }

  async distinct(key: string, filter?: Filter): Promise<unknown[]> {
    if (typeof key !== 'string' || key === '' || key.startsWith('$')) throw new TenantIsolationError('distinct takes a field name')
    return this.#target.distinct(key, scopeFilter(filter, this.#scope))
  }

  aggregate<R extends Document = Document>(pipeline: Document[]): TenantCursor<R> {
    const scoped = scopePipeline(pipeline, this.#scope)
    return cursorOf(() => this.#target.aggregate(scoped) as CursorLike<R>)
  }

  async updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult> {
    checkOptions(options, UPDATE, 'updateOne')
    return this.#target.updateOne(scopeUpsertFilter(filter, this.#scope, options?.upsert), scopeUpdate(update, this.#scope), options)
  }

  async updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult> {
    checkOptions(options, UPDATE, 'updateMany')
    return this.#target.updateMany(scopeUpsertFilter(filter, this.#scope, options?.upsert), scopeUpdate(update, this.#scope), options)
  }

  async replaceOne(filter: Filter, replacement: T, options?: { upsert?: boolean }): Promise<UpdateResult> {
    checkOptions(options, ['upsert'], 'replaceOne')
    return this.#target.replaceOne(scopeUpsertFilter(filter, this.#scope, options?.upsert), scopeDocument(replacement, this.#scope), options)
  }

  async deleteOne(filter: Filter): Promise<DeleteResult> {
    return this.#target.deleteOne(scopeFilter(filter, this.#scope))
  }

  async deleteMany(filter: Filter): Promise<DeleteResult> {
    return this.#target.deleteMany(scopeFilter(filter, this.#scope))
  }

  async findOneAndUpdate(filter: Filter, update: UpdateFilter, options?: FindOneAndOptions): Promise<(T & Document) | null> {
    checkOptions(options, FIND_ONE_AND, 'findOneAndUpdate')
    return (await this.#target.findOneAndUpdate(scopeUpsertFilter(filter, this.#scope, options?.upsert), scopeUpdate(update, this.#scope), { ...options, includeResultMetadata: false })) as (T & Document) | null
  }

  async findOneAndReplace(filter: Filter, replacement: T, options?: FindOneAndOptions): Promise<(T & Document) | null> {
    checkOptions(options, FIND_ONE_AND, 'findOneAndReplace')
    return (await this.#target.findOneAndReplace(scopeUpsertFilter(filter, this.#scope, options?.upsert), scopeDocument(replacement, this.#scope), { ...options, includeResultMetadata: false })) as (T & Document) | null
  }

  async findOneAndDelete(filter: Filter, options?: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'>): Promise<(T & Document) | null> {
    checkOptions(options, ['sort', 'projection'], 'findOneAndDelete')
    return (await this.#target.findOneAndDelete(scopeFilter(filter, this.#scope), { ...options, includeResultMetadata: false })) as (T & Document) | null
  }

  /** Every operation is checked and scoped as its single form would be, before any is sent. */
  async bulkWrite(operations: AnyBulkWriteOperation<T>[], options?: { ordered?: boolean }): Promise<BulkWriteResult> {
    checkOptions(options, ['ordered'], 'bulkWrite')
    if (!Array.isArray(operations)) throw new TenantIsolationError('bulkWrite takes an array of operations')
    const scoped = operations.map((operation) => this.#scopeOperation(operation))
    const result = await this.#target.bulkWrite(scoped, options)
    // The driver's BulkWriteResult is a class with more on it; hand back plain counts.
    const { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount, insertedIds, upsertedIds } = result
    return { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount, insertedIds, upsertedIds }
  }

  #scopeOperation(operation: AnyBulkWriteOperation<T>): AnyBulkWriteOperation {
    const [kind, ...rest] = isPlainObject(operation) ? Object.keys(operation) : []
    const body = kind === undefined ? undefined : (operation as Record<string, unknown>)[kind]
    if (kind === undefined || rest.length > 0 || !isPlainObject(body)) throw new TenantIsolationError('each bulkWrite operation has exactly one kind')
    const scope = this.#scope
    switch (kind) {
      case 'insertOne':
        checkOptions(body, ['document'], 'bulkWrite insertOne')
        return { insertOne: { document: scopeDocument(body.document as Document, scope) } }
      case 'updateOne':
      case 'updateMany':
        checkOptions(body, ['filter', 'update', 'upsert', 'arrayFilters'], `bulkWrite ${kind}`)
        return { [kind]: { ...body, filter: scopeUpsertFilter(body.filter as Filter, scope, body.upsert), update: scopeUpdate(body.update as UpdateFilter, scope) } } as AnyBulkWriteOperation
      case 'replaceOne':
        checkOptions(body, ['filter', 'replacement', 'upsert'], 'bulkWrite replaceOne')
        return { replaceOne: { ...body, filter: scopeUpsertFilter(body.filter as Filter, scope, body.upsert), replacement: scopeDocument(body.replacement as Document, scope) } }
      case 'deleteOne':
      case 'deleteMany':
        checkOptions(body, ['filter'], `bulkWrite ${kind}`)
        return { [kind]: { filter: scopeFilter(body.filter as Filter, scope) } } as AnyBulkWriteOperation
      default:
        throw new TenantIsolationError(`bulkWrite does not take ${kind}`)
    }
  }
}

/**
 * Runs a check-then-call as a promise: a refused argument rejects like any other failure, and
 * the store's own promise is handed back as is, with no extra async layer on the hot path.
 */
function settle<R>(call: () => Promise<R>): Promise<R> {
  try {
    return call()
  } catch (err) {
    return Promise.reject(err)
  }
}

function cursorOf<R>(open: () => CursorLike<R>): TenantCursor<R> {
  return {
    toArray: () => open().toArray(),
    [Symbol.asyncIterator]: () => open()[Symbol.asyncIterator](),
  }
}

/** The driver's chainable cursor, without its escape hatches (`filter()`, `addCursorFlag()`, ...). */
class ScopedFindCursor<T> implements TenantFindCursor<T> {
  readonly #target: DriverCollection
  readonly #filter: Filter
  readonly #options: FindOptions

  constructor(target: DriverCollection, filter: Filter, options: FindOptions) {
    this.#target = target
    this.#filter = filter
    this.#options = options
  }

  sort(sort: FindOptions['sort']): TenantFindCursor<T> {
    return this.#with({ sort })
  }

  skip(count: number): TenantFindCursor<T> {
    return this.#with({ skip: count })
  }

  limit(count: number): TenantFindCursor<T> {
    return this.#with({ limit: count })
  }

  project<P extends Document = Document>(projection: FindOptions['projection']): TenantFindCursor<P> {
    return this.#with({ projection }) as unknown as TenantFindCursor<P>
  }

  toArray(): Promise<T[]> {
    return this.#target.find(this.#filter, this.#options).toArray() as Promise<T[]>
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return (this.#target.find(this.#filter, this.#options) as CursorLike<T>)[Symbol.asyncIterator]()
  }

  #with(options: FindOptions): TenantFindCursor<T> {
    checkOptions(options, FIND, 'find')
    return new ScopedFindCursor<T>(this.#target, this.#filter, { ...this.#options, ...options })
  }
}
