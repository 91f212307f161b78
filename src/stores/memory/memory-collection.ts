import { randomUUID } from 'node:crypto'
import { Aggregator, Context, Query, updateOne as applyUpdate } from 'mingo'
import type { Modifier, PipelineStage } from 'mingo/updater'
import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  DeleteResult,
  Document,
  Filter,
  FindOneAndOptions,
  FindOptions,
  IndexSpec,
  InsertManyResult,
  InsertOneResult,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
} from '../../data/collection-types.js'
import { DuplicateKeyError } from '../../errors.js'

/** A stored document: any plain object; `_id` is added on insert when missing. */
export type MemoryDocument = Record<string, unknown> & { _id?: unknown }
export type { FindOptions }

/** What `find` and `aggregate` return: the matching documents, as MongoDB's cursor would give them. */
export interface MemoryCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
}

// `$where` and `$function` run code; no filter a tenant's request builds should ever do that.
const queryOptions = { scriptEnabled: false, context: Context.init() } as const
// mingo evaluates $setWindowFields (and $fill, built on it) through its own internal $function,
// so a pipeline needs scripts enabled to run those two stages at all. That opens nothing: mingo
// runs only a real Function object, never a string, so nothing from JSON can become code, and
// the isolation rules refuse $function, $accumulator and $where in every stage beforehand.
const pipelineOptions = { scriptEnabled: true, context: Context.init() } as const
const ACKNOWLEDGED = { acknowledged: true } as const

/**
 * A collection in memory with the MongoDB driver's everyday methods and result shapes, so code
 * written against it runs on the MongoDB store unchanged. Filters, update operators and
 * pipelines are MongoDB's, evaluated by `mingo`. Documents are copied in and out: a caller can
 * never reach into the stored state by reference. `_id` and declared unique indexes are unique,
 * and a write that would break either changes nothing.
 *
 * @example
 * await notes.insertOne({ text: 'hello' })
 * const recent = await notes.find({ text: { $regex: '^h' } }, { sort: { _id: 1 } }).toArray()
 */
export class MemoryCollection<T extends MemoryDocument = MemoryDocument> {
  /** By `_id`, in insertion order. */
  #documents = new Map<unknown, T>()
  readonly #unique: readonly (readonly string[])[]

  constructor(options: { indexes?: readonly IndexSpec[] } = {}) {
    this.#unique = (options.indexes ?? []).filter((index) => index.unique).map((index) => Object.keys(index.key))
  }

  async insertOne(document: T): Promise<InsertOneResult> {
    const [insertedId] = this.#insert([document])
    return { ...ACKNOWLEDGED, insertedId }
  }

  async insertMany(documents: T[]): Promise<InsertManyResult> {
    const ids = this.#insert(documents)
    return { ...ACKNOWLEDGED, insertedCount: ids.length, insertedIds: { ...ids } }
  }

  find(filter: Filter = {}, options: FindOptions = {}): MemoryCursor<T> {
    return cursor(() => this.#find(filter, options))
  }

  async findOne(filter: Filter = {}, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    return this.#find(filter, { ...options, limit: 1 })[0] ?? null
  }

  async countDocuments(filter: Filter = {}, options: { skip?: number; limit?: number } = {}): Promise<number> {
    return this.#find(filter, { skip: options.skip, limit: options.limit }).length
  }

  async estimatedDocumentCount(): Promise<number> {
    return this.#documents.size
  }

  /** Like MongoDB, an array field contributes each of its elements. */
  async distinct(key: string, filter: Filter = {}): Promise<unknown[]> {
    const values = new Map<string, unknown>()
    for (const document of this.#find(filter, { projection: { [key]: 1 } })) {
      const value = valueAt(document, key)
      for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) values.set(JSON.stringify(item), item)
    }
    return [...values.values()]
  }

  aggregate<R extends Document = Document>(pipeline: Document[]): MemoryCursor<R> {
    return cursor(() => new Aggregator(pipeline, pipelineOptions).run([...this.#documents.values()]).map((document) => structuredClone(document) as R))
  }

  async updateOne(filter: Filter, update: UpdateFilter, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.#update(filter, update, options, true)
  }

  async updateMany(filter: Filter, update: UpdateFilter, options: UpdateOptions = {}): Promise<UpdateResult> {
    return this.#update(filter, update, options, false)
  }

  async replaceOne(filter: Filter, replacement: T, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    const [current] = this.#matching(filter, undefined, 1)
    if (!current) {
      if (!options.upsert) return updateResult(0, 0)
      return updateResult(0, 0, this.#upsert(filter, (seed) => ({ ...pick(seed, '_id'), ...structuredClone(replacement) })))
    }
    this.#replace(current, { ...structuredClone(replacement), _id: current._id } as T)
    return updateResult(1, 1)
  }

  async deleteOne(filter: Filter): Promise<DeleteResult> {
    const [found] = this.#matching(filter, undefined, 1)
    if (found) this.#documents.delete(found._id)
    return { ...ACKNOWLEDGED, deletedCount: found ? 1 : 0 }
  }

  async deleteMany(filter: Filter = {}): Promise<DeleteResult> {
    const found = this.#matching(filter)
    for (const document of found) this.#documents.delete(document._id)
    return { ...ACKNOWLEDGED, deletedCount: found.length }
  }

  async findOneAndUpdate(filter: Filter, update: UpdateFilter, options: FindOneAndOptions = {}): Promise<T | null> {
    const [current] = this.#matching(filter, options.sort, 1)
    if (!current) {
      if (!options.upsert) return null
      const id = this.#upsert(filter, (seed) => this.#updated(seed, update, undefined, true))
      return options.returnDocument === 'after' ? this.#project(this.#documents.get(id)!, options.projection) : null
    }
    const next = this.#updated(current, update)
    this.#replace(current, next)
    return this.#project(options.returnDocument === 'after' ? next : current, options.projection)
  }

  async findOneAndReplace(filter: Filter, replacement: T, options: FindOneAndOptions = {}): Promise<T | null> {
    const [current] = this.#matching(filter, options.sort, 1)
    if (!current) {
      if (!options.upsert) return null
      const id = this.#upsert(filter, (seed) => ({ ...pick(seed, '_id'), ...structuredClone(replacement) }))
      return options.returnDocument === 'after' ? this.#project(this.#documents.get(id)!, options.projection) : null
    }
    const next = { ...structuredClone(replacement), _id: current._id } as T
    this.#replace(current, next)
    return this.#project(options.returnDocument === 'after' ? next : current, options.projection)
  }

  async findOneAndDelete(filter: Filter, options: Omit<FindOneAndOptions, 'upsert' | 'returnDocument'> = {}): Promise<T | null> {
    const [current] = this.#matching(filter, options.sort, 1)
    if (!current) return null
    this.#documents.delete(current._id)
    return this.#project(current, options.projection)
  }

  /** Runs the operations in order. Ordered (the default), the first failure stops the rest, as in MongoDB. */
  async bulkWrite(operations: AnyBulkWriteOperation<T>[], options: { ordered?: boolean } = {}): Promise<BulkWriteResult> {
    const result: BulkWriteResult = { insertedCount: 0, matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0, insertedIds: {}, upsertedIds: {} }
    let failure: unknown
    for (const [index, operation] of operations.entries()) {
      try {
        await this.#bulkOne(operation, index, result)
      } catch (err) {
        failure ??= err
        if (options.ordered !== false) break
      }
    }
    if (failure !== undefined) throw failure
    return result
  }

  async #bulkOne(operation: AnyBulkWriteOperation<T>, index: number, result: BulkWriteResult): Promise<void> {
    let outcome: UpdateResult | undefined
    if ('insertOne' in operation) {
      result.insertedIds[index] = (await this.insertOne(operation.insertOne.document)).insertedId
      result.insertedCount++
      return
    }
    if ('updateOne' in operation) outcome = await this.updateOne(operation.updateOne.filter, operation.updateOne.update, operation.updateOne)
    else if ('updateMany' in operation) outcome = await this.updateMany(operation.updateMany.filter, operation.updateMany.update, operation.updateMany)
    else if ('replaceOne' in operation) outcome = await this.replaceOne(operation.replaceOne.filter, operation.replaceOne.replacement, operation.replaceOne)
    else if ('deleteOne' in operation) result.deletedCount += (await this.deleteOne(operation.deleteOne.filter)).deletedCount
    else if ('deleteMany' in operation) result.deletedCount += (await this.deleteMany(operation.deleteMany.filter)).deletedCount
    else throw new TypeError('unknown bulkWrite operation')
    if (!outcome) return
    result.matchedCount += outcome.matchedCount
    result.modifiedCount += outcome.modifiedCount
    if (outcome.upsertedCount > 0) {
      result.upsertedCount++
      result.upsertedIds[index] = outcome.upsertedId
    }
  }

  #find(filter: Filter, options: FindOptions): T[] {
    let found = new Query(filter, queryOptions).find<T>([...this.#documents.values()], options.projection as never)
    if (options.sort) found = found.sort(options.sort)
    if (options.skip !== undefined) found = found.skip(options.skip)
    if (options.limit !== undefined && options.limit !== 0) found = found.limit(options.limit)
    return found.all().map((document) => structuredClone(document))
  }

  /** The stored documents that match (not copies), in insertion or `sort` order. */
  #matching(filter: Filter, sort?: FindOptions['sort'], limit?: number): T[] {
    let found = new Query(filter, queryOptions).find<T>([...this.#documents.values()])
    if (sort) found = found.sort(sort)
    if (limit !== undefined) found = found.limit(limit)
    return found.all()
  }

  #project(document: T, projection: FindOptions['projection']): T {
    if (!projection) return structuredClone(document)
    return new Query({}, queryOptions).find<T>([document], projection as never).all().map((projected) => structuredClone(projected))[0]!
  }

  /** Validates the whole batch before storing any of it, so a duplicate stores nothing. */
  #insert(documents: T[]): unknown[] {
    const copies = documents.map((document) => ({ _id: randomUUID(), ...structuredClone(document) }) as T)
    const batch: T[] = []
    for (const copy of copies) {
      this.#assertUnique(copy, undefined, batch)
      batch.push(copy)
    }
    for (const copy of copies) this.#documents.set(copy._id, copy)
    return copies.map((copy) => copy._id)
  }

  /**
   * Updates copies of the matching documents and swaps them in only when every one succeeded,
   * so an update that fails halfway (or breaks a unique index) changes nothing.
   */
  #update(filter: Filter, update: UpdateFilter, options: UpdateOptions, single: boolean): UpdateResult {
    const matched = this.#matching(filter, undefined, single ? 1 : undefined)
    if (matched.length === 0) {
      if (!options.upsert) return updateResult(0, 0)
      return updateResult(0, 0, this.#upsert(filter, (seed) => this.#updated(seed, update, options.arrayFilters, true)))
    }
    const updated = matched.map((document) => this.#updated(document, update, options.arrayFilters))
    const replacing = new Set(matched.map((document) => document._id))
    for (const next of updated) this.#assertUnique(next, replacing)
    let modified = 0
    for (const [i, next] of updated.entries()) {
      if (JSON.stringify(next) !== JSON.stringify(matched[i])) modified++
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
      modifier = (inserting ? { ...rest, $set: { ...(rest.$set as object), ...($setOnInsert as object) } } : rest) as Modifier<T>
    }
    if (Array.isArray(modifier) || Object.keys(modifier).length > 0) applyUpdate(copy, {}, modifier, { arrayFilters: arrayFilters as never }, queryOptions)
    const next = copy[0]!
    if (!inserting && next._id !== document._id) throw new TypeError('the _id of a document cannot be changed')
    return next
  }

  /** Inserts the document an upsert makes: the filter's equality conditions, then `build`. Returns its `_id`. */
  #upsert(filter: Filter, build: (seed: T) => T): unknown {
    const document = build(equalitySeed(filter) as T)
    const [id] = this.#insert([document])
    return id
  }

  #replace(current: T, next: T): void {
    this.#assertUnique(next, new Set([current._id]))
    this.#documents.set(current._id, next)
  }

  /** `_id` and every declared unique index, against the stored documents (bar `replacing`) and the batch so far. */
  #assertUnique(candidate: T, replacing?: Set<unknown>, batch: T[] = []): void {
    const others = [...batch]
    if (!replacing?.has(candidate._id) && (this.#documents.has(candidate._id) || batch.some((document) => document._id === candidate._id))) {
      throw new DuplicateKeyError(`a document with _id ${String(candidate._id)} already exists`)
    }
    if (this.#unique.length === 0) return
    for (const document of this.#documents.values()) if (!replacing?.has(document._id)) others.push(document)
    for (const fields of this.#unique) {
      const key = JSON.stringify(fields.map((field) => valueAt(candidate, field) ?? null))
      if (others.some((document) => document._id !== candidate._id && JSON.stringify(fields.map((field) => valueAt(document, field) ?? null)) === key)) {
        throw new DuplicateKeyError(`a document with this ${fields.join(', ')} already exists`)
      }
    }
  }
}

function cursor<T>(run: () => T[]): MemoryCursor<T> {
  return {
    toArray: async () => run(),
    async *[Symbol.asyncIterator]() {
      yield* run()
    },
  }
}

function updateResult(matchedCount: number, modifiedCount: number, upsertedId?: unknown): UpdateResult {
  return { ...ACKNOWLEDGED, matchedCount, modifiedCount, upsertedCount: upsertedId === undefined ? 0 : 1, upsertedId: upsertedId ?? null }
}

function valueAt(document: Document, path: string): unknown {
  let value: unknown = document
  for (const part of path.split('.')) value = value !== null && typeof value === 'object' ? (value as Document)[part] : undefined
  return value
}

function pick(document: Document, key: string): Document {
  return key in document ? { [key]: document[key] } : {}
}

/**
 * The fields an upsert's new document starts with: the filter's equality conditions, at the top
 * level and inside `$and`, as MongoDB takes them.
 */
function equalitySeed(filter: Filter): Document {
  const seed: Document = {}
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) Object.assign(seed, ...value.map((inner) => equalitySeed(inner as Filter)))
    else if (key.startsWith('$')) continue
    else if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
      if ('$eq' in value) seed[key] = structuredClone((value as Document).$eq)
    } else seed[key] = structuredClone(value)
  }
  return seed
}
