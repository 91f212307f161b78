import { randomUUID } from 'node:crypto'
import { Context, Query } from 'mingo'
import { updateMany, type Modifier } from 'mingo/updater'
import { DuplicateKeyError } from '../../errors.js'

/** A stored document: any plain object; `_id` is added on insert when missing. */
export type MemoryDocument = Record<string, unknown> & { _id?: unknown }
export type Filter = Record<string, unknown>
export type UpdateFilter = Record<string, unknown>

export interface FindOptions {
  sort?: Record<string, 1 | -1>
  skip?: number
  limit?: number
  projection?: Record<string, 0 | 1 | boolean>
}

/** What `find` returns: the matching documents, as MongoDB's cursor would give them. */
export interface MemoryCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
}

// `$where` and `$function` run code; no filter a tenant's request builds should ever do that.
const queryOptions = { scriptEnabled: false, context: Context.init() } as const

/**
 * A tenant's documents in memory, with the everyday subset of MongoDB's `Collection` API so
 * host code moves to the MongoDB store unchanged. Filters and update operators are MongoDB's,
 * evaluated by `mingo`. Documents are copied in and out: a caller can never reach into the
 * stored state by reference.
 *
 * @example
 * await tenant.data.insertOne({ text: 'hello' })
 * const notes = await tenant.data.find({ text: { $regex: '^h' } }, { sort: { _id: 1 } }).toArray()
 */
export class MemoryCollection<T extends MemoryDocument = MemoryDocument> {
  #documents: T[] = []

  async insertOne(document: T): Promise<{ insertedId: unknown }> {
    const [insertedId] = this.#insert([document])
    return { insertedId }
  }

  async insertMany(documents: T[]): Promise<{ insertedIds: unknown[] }> {
    return { insertedIds: this.#insert(documents) }
  }

  find(filter: Filter = {}, options: FindOptions = {}): MemoryCursor<T> {
    const run = (): T[] => {
      let cursor = new Query(filter, queryOptions).find<T>(this.#documents, options.projection as never)
      if (options.sort) cursor = cursor.sort(options.sort)
      if (options.skip !== undefined) cursor = cursor.skip(options.skip)
      if (options.limit !== undefined) cursor = cursor.limit(options.limit)
      return cursor.all().map((document) => structuredClone(document))
    }
    return {
      toArray: async () => run(),
      async *[Symbol.asyncIterator]() {
        yield* run()
      },
    }
  }

  async findOne(filter: Filter = {}, options: Omit<FindOptions, 'limit'> = {}): Promise<T | null> {
    const [first] = await this.find(filter, { ...options, limit: 1 }).toArray()
    return first ?? null
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    const query = new Query(filter, queryOptions)
    return this.#documents.filter((document) => query.test(document)).length
  }

  async updateOne(filter: Filter, update: UpdateFilter): Promise<{ matchedCount: number; modifiedCount: number }> {
    return this.#update(filter, update, true)
  }

  async updateMany(filter: Filter, update: UpdateFilter): Promise<{ matchedCount: number; modifiedCount: number }> {
    return this.#update(filter, update, false)
  }

  async deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    const query = new Query(filter, queryOptions)
    const index = this.#documents.findIndex((document) => query.test(document))
    if (index === -1) return { deletedCount: 0 }
    this.#documents.splice(index, 1)
    return { deletedCount: 1 }
  }

  async deleteMany(filter: Filter = {}): Promise<{ deletedCount: number }> {
    const query = new Query(filter, queryOptions)
    const before = this.#documents.length
    this.#documents = this.#documents.filter((document) => !query.test(document))
    return { deletedCount: before - this.#documents.length }
  }

  /** Validates the whole batch before storing any of it, so a duplicate `_id` stores nothing. */
  #insert(documents: T[]): unknown[] {
    const copies = documents.map((document) => ({ _id: randomUUID(), ...structuredClone(document) }) as T)
    const ids = new Set(this.#documents.map((document) => document._id))
    for (const copy of copies) {
      if (ids.has(copy._id)) throw new DuplicateKeyError(`a document with _id ${String(copy._id)} already exists`)
      ids.add(copy._id)
    }
    this.#documents.push(...copies)
    return copies.map((copy) => copy._id)
  }

  /**
   * Updates copies of the matching documents and swaps them in only when every update
   * succeeded, so an update that fails halfway changes nothing.
   */
  #update(filter: Filter, update: UpdateFilter, single: boolean): { matchedCount: number; modifiedCount: number } {
    const query = new Query(filter, queryOptions)
    const indexes: number[] = []
    for (const [index, document] of this.#documents.entries()) {
      if (!query.test(document)) continue
      indexes.push(index)
      if (single) break
    }
    const copies = indexes.map((index) => structuredClone(this.#documents[index]!))
    const result = updateMany(copies, {}, update as Modifier<T>, {}, queryOptions)
    copies.forEach((copy, position) => {
      if (copy._id !== this.#documents[indexes[position]!]!._id) throw new TypeError('the _id of a document cannot be changed')
    })
    copies.forEach((copy, position) => {
      this.#documents[indexes[position]!] = copy
    })
    return { matchedCount: indexes.length, modifiedCount: result.modifiedCount }
  }
}
