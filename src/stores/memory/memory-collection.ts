import { randomUUID } from 'node:crypto'
import { Aggregator } from 'mingo/aggregator'
import { Query } from 'mingo/query'
import { updateOne as applyUpdate } from 'mingo/updater'
import type { Modifier, PipelineStage } from 'mingo/updater'
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
  InsertOneResult,
  ReadOptions,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
  WriteOptions,
} from '../../data/collection-types.js'
import { InvalidQueryError, UnsupportedQueryError } from '../../errors.js'
import { bulkWrite, withWrites } from './memory-bulk-write.js'
import {
  ACKNOWLEDGED,
  assertNumeric,
  assertUnique,
  cursor,
  equalitySeed,
  type MemoryCursor,
  type MemoryDocument,
  pick,
  updateResult,
  valueAt,
} from './memory-documents.js'
import { DEFAULT_MAX_TIME_MS, type MemoryCollectionOptions, queryOptions } from './memory-collection-options.js'
import { bounded, boundedContext, checkSupported, DEFAULT_MAX_ALLOCATION } from './query-engine.js'

/**
 * A collection in memory with the MongoDB driver's everyday methods and result shapes, so code
 * written against it runs on the MongoDB store unchanged. Filters, update operators and
 * pipelines are MongoDB's, evaluated by `mingo` within bounds (`query-engine.ts`). Reads never
 * write: filters test the stored documents, and everything else (projection, sort, pipeline
 * stages) runs on copies, so neither the engine nor a caller holding a result can change what
 * is stored. `_id` and declared unique indexes are unique, and a write that would break either
 * changes nothing.
 *
 * @example
 * await notes.insertOne({ text: 'hello' })
 * const recent = await notes.find({ text: { $regex: '^h' } }, { sort: { _id: 1 } }).toArray()
 */
export class MemoryCollection<T extends MemoryDocument = MemoryDocument> {
  /** By `_id`, in insertion order. */
  #documents = new Map<unknown, T>()
  readonly #unique: readonly (readonly string[])[]
  readonly #maxTimeMS: number
  readonly #maxAllocation: number
  readonly #resolveCollection: MemoryCollectionOptions<MemoryCollection>['resolveCollection']

  constructor(options: MemoryCollectionOptions<MemoryCollection> = {}) {
    this.#unique = (options.indexes ?? []).filter((index) => index.unique).map((index) => Object.keys(index.key))
    this.#maxTimeMS = options.maxTimeMS ?? DEFAULT_MAX_TIME_MS
    this.#maxAllocation = options.maxAllocation ?? DEFAULT_MAX_ALLOCATION
    this.#resolveCollection = options.resolveCollection
  }

  async insertOne(document: T): Promise<InsertOneResult> {
    const [insertedId] = this.#run({}, () => this.#insert([document]))
    return { ...ACKNOWLEDGED, insertedId }
  }

  /** Ordered, as the driver's default: the documents before one that fails stay stored, and the rest are not tried. */
  async insertMany(documents: T[]): Promise<InsertManyResult> {
    const ids = this.#run({}, () => this.#insertInOrder(documents))
    return { ...ACKNOWLEDGED, insertedCount: ids.length, insertedIds: { ...ids } }
  }

  find(filter: Filter = {}, options: FindOptions = {}): MemoryCursor<T> {
    return cursor(() => this.#run(options, () => this.#find(filter, options)))
  }

  async findOne(filter: Filter = {}, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    return this.#run(options, () => this.#find(filter, { ...options, limit: 1 })[0] ?? null)
  }

  async countDocuments(filter: Filter = {}, options: CountOptions = {}): Promise<number> {
    return this.#run(options, () => {
      const found = this.#matching(filter, options)
      return Math.max(0, Math.min(found.length - (options.skip ?? 0), options.limit || Number.POSITIVE_INFINITY))
    })
  }

  async estimatedDocumentCount(): Promise<number> {
    return this.#documents.size
  }

  /** Like MongoDB, an array field contributes each of its elements. */
  async distinct(key: string, filter: Filter = {}, options: ReadOptions = {}): Promise<unknown[]> {
    return this.#run(options, () => {
      const values = new Map<string, unknown>()
      for (const document of this.#matching(filter, options)) {
        const value = valueAt(document, key)
        for (const item of Array.isArray(value) ? value : [value])
          if (item !== undefined) values.set(JSON.stringify(item), structuredClone(item))
      }
      return [...values.values()]
    })
  }

  /** The pipeline runs on copies of the documents its leading `$match` stages select. */
  aggregate<R extends Document = Document>(pipeline: Document[], options: ReadOptions = {}): MemoryCursor<R> {
    return cursor(() =>
      this.#run(options, () => {
        checkSupported(pipeline)
        if (options.collation && options.collation.strength !== undefined && options.collation.strength < 3) {
          throw new UnsupportedQueryError(
            'a pipeline under a collation weaker than strength 3 works on MongoDB; the in-memory store applies collation to sorting only',
          )
        }
        let first = 0
        let input = [...this.#documents.values()]
        for (; first < pipeline.length && '$match' in pipeline[first]!; first++) {
          const query = new Query(pipeline[first]!.$match as Filter, queryOptions)
          input = input.filter((document) => query.test(document))
        }
        const aggregator = new Aggregator(pipeline.slice(first), this.#pipelineOptions(options))
        return aggregator.run(input.map((document) => structuredClone(document))) as R[]
      }),
    )
  }

  async updateOne(filter: Filter, update: UpdateFilter, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.#run(options, () => this.#update(filter, update, options, true))
  }

  async updateMany(filter: Filter, update: UpdateFilter, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.#run(options, () => this.#update(filter, update, options, false))
  }

  async replaceOne(
    filter: Filter,
    replacement: T,
    options: Omit<UpdateOptions, 'arrayFilters'> = {},
  ): Promise<UpdateResult> {
    return this.#run(options, () => {
      const [current] = this.#matching(filter, options, undefined, 1)
      if (!current) {
        if (!options.upsert) return updateResult(0, 0)
        return updateResult(
          0,
          0,
          this.#upsert(filter, (seed) => ({ ...pick(seed, '_id'), ...structuredClone(replacement) })),
        )
      }
      this.#replace(current, this.#replacement(current, replacement))
      return updateResult(1, 1)
    })
  }

  async deleteOne(filter: Filter, options: WriteOptions = {}): Promise<DeleteResult> {
    return this.#run(options, () => {
      const [found] = this.#matching(filter, options, undefined, 1)
      if (found) this.#documents.delete(found._id)
      return { ...ACKNOWLEDGED, deletedCount: found ? 1 : 0 }
    })
  }

  async deleteMany(filter: Filter = {}, options: WriteOptions = {}): Promise<DeleteResult> {
    return this.#run(options, () => {
      const found = this.#matching(filter, options)
      for (const document of found) this.#documents.delete(document._id)
      return { ...ACKNOWLEDGED, deletedCount: found.length }
    })
  }

  async findOneAndUpdate(filter: Filter, update: UpdateFilter, options: FindOneAndOptions = {}): Promise<T | null> {
    return this.#run(options, () => {
      const [current] = this.#matching(filter, options, options.sort, 1)
      if (!current) {
        if (!options.upsert) return null
        const id = this.#upsert(filter, (seed) => this.#updated(seed, update, undefined, true))
        return options.returnDocument === 'after' ? this.#project(this.#documents.get(id)!, options.projection) : null
      }
      const next = this.#updated(current, update)
      this.#replace(current, next)
      return this.#project(options.returnDocument === 'after' ? next : current, options.projection)
    })
  }

  async findOneAndReplace(filter: Filter, replacement: T, options: FindOneAndOptions = {}): Promise<T | null> {
    return this.#run(options, () => {
      const [current] = this.#matching(filter, options, options.sort, 1)
      if (!current) {
        if (!options.upsert) return null
        const id = this.#upsert(filter, (seed) => ({ ...pick(seed, '_id'), ...structuredClone(replacement) }))
        return options.returnDocument === 'after' ? this.#project(this.#documents.get(id)!, options.projection) : null
      }
      const next = this.#replacement(current, replacement)
      this.#replace(current, next)
      return this.#project(options.returnDocument === 'after' ? next : current, options.projection)
    })
  }

  async findOneAndDelete(
    filter: Filter,
    options: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'> = {},
  ): Promise<T | null> {
    return this.#run(options, () => {
      const [current] = this.#matching(filter, options, options.sort, 1)
      if (!current) return null
      this.#documents.delete(current._id)
      return this.#project(current, options.projection)
    })
  }

  /** Runs the operations in order. Ordered (the default), the first failure stops the rest, as in MongoDB. */
  bulkWrite(operations: AnyBulkWriteOperation<T>[], options: { ordered?: boolean } = {}): Promise<BulkWriteResult> {
    return bulkWrite(this, operations, options)
  }

  /** One operation under its time limit, with every engine failure a typed error. */
  #run<R>(options: ReadOptions, run: () => R): R {
    return bounded(options.maxTimeMS || this.#maxTimeMS, run, this.#maxAllocation)
  }

  #pipelineOptions(options: ReadOptions) {
    return {
      // mingo evaluates $setWindowFields (and $fill, built on it) through its own internal
      // $function, so those stages need scripts enabled. That opens nothing: mingo runs only a
      // real Function object, never a string, and the isolation rules refuse $function,
      // $accumulator and $where in every stage beforehand.
      scriptEnabled: true,
      context: boundedContext,
      collation: options.collation as never,
      // A join reads copies of the other collection's documents, so nothing downstream can change them.
      collectionResolver: (name: string) => {
        const other = this.#resolveCollection?.(name)
        if (!other) throw new InvalidQueryError(`no collection ${JSON.stringify(name)} to join`)
        return other.#copies()
      },
    }
  }

  #copies(): T[] {
    return [...this.#documents.values()].map((document) => structuredClone(document))
  }

  /**
   * The matching documents, sorted, skipped and limited as stored references (none of that
   * writes), then copied and projected: a projection runs on the copies only.
   */
  #find(filter: Filter, options: FindOptions): T[] {
    const skip = options.skip ?? 0
    const found = this.#matching(filter, options, options.sort, skip + (options.limit || Number.POSITIVE_INFINITY))
    const copies = found.slice(skip).map((document) => structuredClone(document))
    if (!options.projection) return copies
    return new Query({}, queryOptions).find<T>(copies, options.projection as never).all()
  }

  /** The stored documents that match (not copies), in insertion or `sort` order, the first `limit`. */
  #matching(filter: Filter, options: ReadOptions, sort?: FindOptions['sort'], limit = Number.POSITIVE_INFINITY): T[] {
    checkSupported(filter)
    const query = new Query(filter, this.#queryOptions(options, filter))
    const found: T[] = []
    for (const document of this.#candidates(filter)) {
      if (!query.test(document)) continue
      found.push(document)
      if (!sort && found.length >= limit) break
    }
    if (!sort) return found
    // Sorting reorders the stored documents' references; it writes nothing.
    const sorted = new Query({}, this.#queryOptions(options)).find<T>(found).sort(sort)
    return (limit === Number.POSITIVE_INFINITY ? sorted : sorted.limit(limit)).all()
  }

  /** The one document an equality on a plain `_id` can match, or every document. */
  #candidates(filter: Filter): Iterable<T> {
    const id = filter._id
    if (typeof id === 'string' || typeof id === 'number') {
      const document = this.#documents.get(id)
      return document ? [document] : []
    }
    return this.#documents.values()
  }

  #queryOptions(options: ReadOptions, filter?: Filter) {
    const { collation } = options
    if (!collation) return queryOptions
    if ((collation.strength ?? 3) > 3 || 'maxVariable' in collation || 'backwards' in collation) {
      throw new UnsupportedQueryError(
        'collation strengths 4 and 5, maxVariable and backwards work on MongoDB; the in-memory store supports locale, strength 1 to 3, caseLevel, caseFirst, numericOrdering and alternate',
      )
    }
    // mingo applies a collation to sorting; comparing strings under one is MongoDB's alone.
    if ((collation.strength ?? 3) < 3 && filter && Object.keys(filter).length > 0) {
      throw new UnsupportedQueryError(
        'matching under a collation weaker than strength 3 works on MongoDB; the in-memory store applies collation to sorting only',
      )
    }
    return { ...queryOptions, collation: collation as never }
  }

  #project(document: T, projection: FindOptions['projection']): T {
    const copy = structuredClone(document)
    if (!projection) return copy
    return new Query({}, queryOptions).find<T>([copy], projection as never).all()[0]!
  }

  /** The replacement of `current`: its `_id` stays, and one naming another is refused as MongoDB refuses it. */
  #replacement(current: T, replacement: T): T {
    if (replacement._id !== undefined && JSON.stringify(replacement._id) !== JSON.stringify(current._id)) {
      throw new InvalidQueryError('the _id of a document cannot be changed')
    }
    return { ...structuredClone(replacement), _id: current._id } as T
  }

  #insertInOrder(documents: T[]): unknown[] {
    const ids: unknown[] = []
    for (const [index, document] of documents.entries()) {
      try {
        ids.push(...this.#insert([document]))
      } catch (error) {
        const none = { matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 }
        throw withWrites({ insertedCount: index, ...none }, [{ index, error }])
      }
    }
    return ids
  }

  /** Validates the whole batch before storing any of it, so a duplicate stores nothing. */
  #insert(documents: T[]): unknown[] {
    const copies = documents.map((document) => ({ _id: randomUUID(), ...structuredClone(document) }) as T)
    const batch: T[] = []
    for (const copy of copies) {
      assertUnique(this.#documents, this.#unique, copy, undefined, batch)
      batch.push(copy)
    }
    for (const copy of copies) this.#documents.set(copy._id, copy)
    return copies.map((copy) => copy._id)
  }

  /**
   * Updates the matching documents one at a time, each a copy swapped in once it passed, as
   * MongoDB does: an update that fails on one (or would break a unique index) keeps the ones
   * before it and leaves that one and the rest as they were.
   */
  #update(filter: Filter, update: UpdateFilter, options: UpdateOptions, single: boolean): UpdateResult {
    checkSupported(update)
    const matched = this.#matching(filter, options, undefined, single ? 1 : undefined)
    if (matched.length === 0) {
      if (!options.upsert) return updateResult(0, 0)
      return updateResult(
        0,
        0,
        this.#upsert(filter, (seed) => this.#updated(seed, update, options.arrayFilters, true)),
      )
    }
    let modified = 0
    for (const document of matched) {
      const next = this.#updated(document, update, options.arrayFilters)
      assertUnique(this.#documents, this.#unique, next, new Set([document._id]))
      if (JSON.stringify(next) !== JSON.stringify(document)) modified++
      this.#documents.set(next._id, next)
    }
    return updateResult(matched.length, modified)
  }

  /** A copy of `document` with the update applied; `$setOnInsert` counts only when inserting. */
  #updated(document: T, update: UpdateFilter, arrayFilters?: Document[], inserting = false): T {
    const copy = [structuredClone(document)]
    let modifier = update as Modifier<T> | PipelineStage[]
    if (!Array.isArray(update) && '$setOnInsert' in update) {
      const { $setOnInsert, ...rest } = update
      modifier = (
        inserting ? { ...rest, $set: { ...(rest.$set as object), ...($setOnInsert as object) } } : rest
      ) as Modifier<T>
    }
    if (!Array.isArray(update)) assertNumeric(document, update)
    if (Array.isArray(modifier) || Object.keys(modifier).length > 0)
      applyUpdate(copy, {}, modifier, { arrayFilters: arrayFilters as never }, queryOptions)
    const next = copy[0]!
    if (!inserting && next._id !== document._id) throw new InvalidQueryError('the _id of a document cannot be changed')
    return next
  }

  /** Inserts the document an upsert makes: the filter's equality conditions, then `build`. Returns its `_id`. */
  #upsert(filter: Filter, build: (seed: T) => T): unknown {
    const document = build(equalitySeed(filter) as T)
    const [id] = this.#insert([document])
    return id
  }

  #replace(current: T, next: T): void {
    assertUnique(this.#documents, this.#unique, next, new Set([current._id]))
    this.#documents.set(current._id, next)
  }
}
