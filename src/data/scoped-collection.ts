import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  CountOptions,
  DeleteResult,
  Document,
  Filter,
  FindOneAndOptions,
  FindOptions,
  InsertManyResult,
  IdOf,
  InsertOneResult,
  ReadOptions,
  TenantCollection,
  TenantCursor,
  TenantFindCursor,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WriteOptions,
} from './collection-types.js'
import { scopeDocument, scopeFilter, scopeUpdate, scopeUpsertFilter, type Confinement } from './isolation-rules.js'
import { checkOptions } from './operation-options.js'
import { scopePipeline } from './pipeline-rules.js'
import { isPlainObject, refuse } from './query-values.js'
import { ScopedCursor, ScopedFindCursor, type CursorLike } from './tenant-cursor.js'

/**
 * What a scoped collection calls underneath: the MongoDB driver's `Collection`, or the in-memory
 * store's `MemoryCollection`, which has the same methods and result shapes.
 */
export interface DriverCollection {
  insertOne(document: Document): Promise<InsertOneResult>
  insertMany(documents: Document[]): Promise<InsertManyResult>
  find(filter: Filter, options?: FindOptions): CursorLike<Document>
  findOne(filter: Filter, options?: Omit<FindOptions, 'limit'>): Promise<Document | null>
  countDocuments(filter: Filter, options?: CountOptions): Promise<number>
  estimatedDocumentCount(): Promise<number>
  distinct(key: string, filter: Filter, options?: ReadOptions): Promise<unknown[]>
  aggregate(pipeline: Document[], options?: ReadOptions): CursorLike<Document>
  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  replaceOne(filter: Filter, replacement: Document, options?: UpdateOptions): Promise<UpdateResult>
  deleteOne(filter: Filter, options?: WriteOptions): Promise<DeleteResult>
  deleteMany(filter: Filter, options?: WriteOptions): Promise<DeleteResult>
  findOneAndUpdate(
    filter: Filter,
    update: UpdateFilter,
    options: FindOneAndOptions & { includeResultMetadata: false },
  ): Promise<Document | null>
  findOneAndReplace(
    filter: Filter,
    replacement: Document,
    options: FindOneAndOptions & { includeResultMetadata: false },
  ): Promise<Document | null>
  findOneAndDelete(
    filter: Filter,
    options: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'> & { includeResultMetadata: false },
  ): Promise<Document | null>
  bulkWrite(operations: AnyBulkWriteOperation[], options?: { ordered?: boolean }): Promise<BulkWriteResult>
}

/** How a store confines the handles it makes, and how its engine's errors become typed ones. */
export interface ScopeOptions extends Confinement {
  /** Turns an error of the engine underneath into a `TenantryError` where it is the caller's (MongoDB's server errors). */
  translateError?: (err: unknown) => unknown
}

const READ = ['collation', 'hint', 'comment', 'maxTimeMS'] as const
const WRITE = ['collation', 'hint', 'comment'] as const
const FIND = ['sort', 'skip', 'limit', 'projection', ...READ] as const
const UPDATE = ['upsert', 'arrayFilters', ...WRITE] as const
const FIND_ONE = FIND.filter((option) => option !== 'limit')
const FIND_ONE_AND = ['sort', 'projection', 'upsert', 'returnDocument', ...READ] as const

/**
 * A tenant's collection over a driver-shaped one, the one module every store and strategy
 * hands tenants through. Only the methods below exist (no `db`, `client`, `drop`, index or
 * `watch`), the collection underneath sits in a private field, and every argument passes the
 * allow-list rules (`isolation-rules.ts`, `pipeline-rules.ts`) before it reaches the store.
 * Over a mixed collection (MongoDB `'shared'`) every operation leads with the tenant's
 * condition and no answer carries the tenant field, so every strategy answers alike.
 */
export class ScopedCollection<T extends Document = Document> implements TenantCollection<T> {
  readonly collectionName: string
  readonly #target: DriverCollection
  readonly #confinement: Confinement
  readonly #translate: ((err: unknown) => unknown) | undefined
  readonly #field: string | undefined
  /** The tenant field where the documents underneath carry it (a mixed collection); no answer does. */
  readonly #hidden: string | undefined
  readonly #strip: (document: unknown) => T & Document

  constructor(target: DriverCollection, name: string, options: ScopeOptions) {
    this.#target = target
    this.collectionName = name
    const { translateError, ...confinement } = options
    this.#confinement = confinement
    this.#translate = translateError
    this.#field = confinement.tenant?.field
    const hidden = confinement.mixed ? confinement.tenant?.field : undefined
    this.#hidden = hidden
    this.#strip =
      hidden === undefined
        ? (document) => document as T & Document
        : (document) => withoutField(document, hidden) as T & Document
  }

  // The id is the stored document's own: the type its declaration gives it.
  insertOne(document: T): Promise<InsertOneResult<IdOf<T>>> {
    return this.#run(() => this.#target.insertOne(scopeDocument(document, this.#confinement))) as Promise<
      InsertOneResult<IdOf<T>>
    >
  }

  insertMany(documents: T[]): Promise<InsertManyResult<IdOf<T>>> {
    return this.#run(() => {
      if (!Array.isArray(documents)) refuse('insertMany takes an array of documents')
      return this.#target.insertMany(documents.map((document) => scopeDocument(document, this.#confinement)))
    }) as Promise<InsertManyResult<IdOf<T>>>
  }

  /** Checked when first read, as the driver's cursor is: a refusal rejects the read. */
  find(filter?: Filter, options?: FindOptions): TenantFindCursor<T & Document> {
    const open = (current: unknown) => {
      this.#check(current, FIND, 'find')
      return this.#target.find(scopeFilter(filter, this.#confinement), current as FindOptions)
    }
    return new ScopedFindCursor(open, options, this.#strip, this.#translate)
  }

  findOne(filter?: Filter, options?: Omit<FindOptions, 'limit'>): Promise<(T & Document) | null> {
    return this.#run(() => {
      this.#check(options, FIND_ONE, 'findOne')
      return this.#stripped(this.#target.findOne(scopeFilter(filter, this.#confinement), options))
    })
  }

  countDocuments(filter?: Filter, options?: CountOptions): Promise<number> {
    return this.#run(() => {
      this.#check(options, ['skip', 'limit', ...READ], 'countDocuments')
      return this.#target.countDocuments(scopeFilter(filter, this.#confinement), options)
    })
  }

  /** Over a mixed collection an exact count of the tenant's documents (the collection's estimate would count everyone's). */
  estimatedDocumentCount(): Promise<number> {
    return this.#run(() =>
      this.#confinement.mixed
        ? this.#target.countDocuments(scopeFilter({}, this.#confinement))
        : this.#target.estimatedDocumentCount(),
    )
  }

  distinct(key: string, filter?: Filter, options?: ReadOptions): Promise<unknown[]> {
    return this.#run(() => {
      if (typeof key !== 'string' || key === '' || key.startsWith('$')) refuse('distinct takes a field name')
      this.#check(options, READ, 'distinct')
      const scoped = scopeFilter(filter, this.#confinement)
      if (this.#field !== undefined && (key === this.#field || key.startsWith(`${this.#field}.`)))
        refuse(`distinct may not read the tenant field ${this.#field}`)
      return this.#target.distinct(key, scoped, options)
    })
  }

  aggregate<R extends Document = Document>(pipeline: Document[], options?: ReadOptions): TenantCursor<R> {
    const open = () => {
      this.#check(options, READ, 'aggregate')
      return this.#target.aggregate(scopePipeline(pipeline, this.#confinement), options)
    }
    return new ScopedCursor(open, (document) => document as R, this.#translate)
  }

  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult> {
    return this.#run(() => {
      this.#check(options, UPDATE, 'updateOne')
      return this.#target.updateOne(
        scopeUpsertFilter(filter, this.#confinement, options?.upsert),
        scopeUpdate(update, this.#confinement),
        options,
      )
    })
  }

  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult> {
    return this.#run(() => {
      this.#check(options, UPDATE, 'updateMany')
      return this.#target.updateMany(
        scopeUpsertFilter(filter, this.#confinement, options?.upsert),
        scopeUpdate(update, this.#confinement),
        options,
      )
    })
  }

  replaceOne(filter: Filter, replacement: T, options?: Omit<UpdateOptions, 'arrayFilters'>): Promise<UpdateResult> {
    return this.#run(() => {
      this.#check(options, ['upsert', ...WRITE], 'replaceOne')
      return this.#target.replaceOne(
        scopeUpsertFilter(filter, this.#confinement, options?.upsert),
        scopeDocument(replacement, this.#confinement, options?.upsert !== true),
        options,
      )
    })
  }

  deleteOne(filter: Filter, options?: WriteOptions): Promise<DeleteResult> {
    return this.#run(() => {
      this.#check(options, WRITE, 'deleteOne')
      return this.#target.deleteOne(scopeFilter(filter, this.#confinement), options)
    })
  }

  deleteMany(filter: Filter, options?: WriteOptions): Promise<DeleteResult> {
    return this.#run(() => {
      this.#check(options, WRITE, 'deleteMany')
      return this.#target.deleteMany(scopeFilter(filter, this.#confinement), options)
    })
  }

  findOneAndUpdate(filter: Filter, update: UpdateFilter, options?: FindOneAndOptions): Promise<(T & Document) | null> {
    return this.#run(() => {
      this.#check(options, FIND_ONE_AND, 'findOneAndUpdate')
      return this.#stripped(
        this.#target.findOneAndUpdate(
          scopeUpsertFilter(filter, this.#confinement, options?.upsert),
          scopeUpdate(update, this.#confinement),
          { ...options, includeResultMetadata: false },
        ),
      )
    })
  }

  findOneAndReplace(filter: Filter, replacement: T, options?: FindOneAndOptions): Promise<(T & Document) | null> {
    return this.#run(() => {
      this.#check(options, FIND_ONE_AND, 'findOneAndReplace')
      const scoped = scopeDocument(replacement, this.#confinement, options?.upsert !== true)
      return this.#stripped(
        this.#target.findOneAndReplace(scopeUpsertFilter(filter, this.#confinement, options?.upsert), scoped, {
          ...options,
          includeResultMetadata: false,
        }),
      )
    })
  }

  findOneAndDelete(
    filter: Filter,
    options?: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'>,
  ): Promise<(T & Document) | null> {
    return this.#run(() => {
      this.#check(options, ['sort', 'projection', ...READ], 'findOneAndDelete')
      return this.#stripped(
        this.#target.findOneAndDelete(scopeFilter(filter, this.#confinement), {
          ...options,
          includeResultMetadata: false,
        }),
      )
    })
  }

  /** Every operation is checked and scoped as its single form would be, before any is sent. */
  bulkWrite(operations: AnyBulkWriteOperation<T>[], options?: { ordered?: boolean }): Promise<BulkWriteResult> {
    return this.#run(async () => {
      checkOptions(options, ['ordered'], 'bulkWrite')
      if (!Array.isArray(operations)) refuse('bulkWrite takes an array of operations')
      const scoped = operations.map((operation) => this.#scopeOperation(operation))
      const result = await this.#target.bulkWrite(scoped, options)
      // The driver's BulkWriteResult is a class with more on it; hand back plain counts.
      const { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount, insertedIds, upsertedIds } =
        result
      return { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount, insertedIds, upsertedIds }
    })
  }

  #scopeOperation(operation: AnyBulkWriteOperation<T>): AnyBulkWriteOperation {
    const [kind, ...rest] = isPlainObject(operation) ? Object.keys(operation) : []
    const body = kind === undefined ? undefined : (operation as Record<string, unknown>)[kind]
    if (kind === undefined || rest.length > 0 || !isPlainObject(body))
      refuse('each bulkWrite operation has exactly one kind')
    const confinement = this.#confinement
    switch (kind) {
      case 'insertOne':
        checkOptions(body, ['document'], 'bulkWrite insertOne')
        return { insertOne: { document: scopeDocument(body.document as Document, confinement) } }
      case 'updateOne':
      case 'updateMany':
        this.#check(body, ['filter', 'update', ...UPDATE], `bulkWrite ${kind}`)
        return {
          [kind]: {
            ...body,
            filter: scopeUpsertFilter(body.filter as Filter, confinement, body.upsert),
            update: scopeUpdate(body.update as UpdateFilter, confinement),
          },
        } as AnyBulkWriteOperation
      case 'replaceOne':
        this.#check(body, ['filter', 'replacement', 'upsert', ...WRITE], 'bulkWrite replaceOne')
        return {
          replaceOne: {
            ...body,
            filter: scopeUpsertFilter(body.filter as Filter, confinement, body.upsert),
            replacement: scopeDocument(body.replacement as Document, confinement, body.upsert !== true),
          },
        }
      case 'deleteOne':
      case 'deleteMany':
        this.#check(body, ['filter', ...WRITE], `bulkWrite ${kind}`)
        return { [kind]: { ...body, filter: scopeFilter(body.filter as Filter, confinement) } } as AnyBulkWriteOperation
      default:
        refuse(`bulkWrite does not take ${kind}`)
    }
  }

  /**
   * The operation's options, checked. Over a mixed collection a `hint` is refused: a plan not led
   * by the tenant's index tests the whole filter document by document, and the server orders a
   * conjunction's conditions by operator type, so a caller's `$or` could run on other tenants'.
   */
  #check(options: unknown, allowed: readonly string[], operation: string): void {
    checkOptions(options, allowed, operation, this.#field)
    if (this.#hidden !== undefined && isPlainObject(options) && options.hint !== undefined) {
      refuse(`${operation} takes no hint on the shared strategy: the plan must stay led by the tenant's index`)
    }
  }

  /** One document from the store, without the tenant field; the store's own promise where there is nothing to take out. */
  #stripped(found: Promise<Document | null>): Promise<(T & Document) | null> {
    return (
      this.#hidden === undefined ? found : found.then((document) => document && this.#strip(document))
    ) as Promise<(T & Document) | null>
  }

  /**
   * Runs a check-then-call as a promise: a refused argument rejects like any other failure, the
   * store's own promise is handed back as is where its errors are typed already (no extra async
   * layer on the hot path), and through `translateError` where they are not.
   */
  #run<R>(call: () => Promise<R>): Promise<R> {
    try {
      const result = call()
      const translate = this.#translate
      return translate ? result.catch((err: unknown) => Promise.reject(translate(err))) : result
    } catch (err) {
      return Promise.reject(err)
    }
  }
}

function withoutField(document: unknown, field: string): unknown {
  if (document !== null && typeof document === 'object') delete (document as Document)[field]
  return document
}
