import type { Document, Filter, UpdateResult } from '../../data/collection-types.js'
import { DuplicateKeyError, InvalidQueryError } from '../../errors.js'

/** A stored document: any plain object; `_id` is added on insert when missing. */
export type MemoryDocument = Record<string, unknown> & { _id?: unknown }

/** What `find` and `aggregate` return: the matching documents, as MongoDB's cursor would give them. */
export interface MemoryCursor<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
}

export const ACKNOWLEDGED = { acknowledged: true } as const

/** `_id` and every declared unique index, against the stored documents (bar `replacing`) and the batch so far. */
export function assertUnique<T extends MemoryDocument>(
  documents: ReadonlyMap<unknown, T>,
  unique: readonly (readonly string[])[],
  candidate: T,
  replacing?: Set<unknown>,
  batch: T[] = [],
): void {
  const others = [...batch]
  if (
    !replacing?.has(candidate._id) &&
    (documents.has(candidate._id) || batch.some((document) => document._id === candidate._id))
  ) {
    throw new DuplicateKeyError(`a document with _id ${String(candidate._id)} already exists`)
  }
  if (unique.length === 0) return
  for (const document of documents.values()) if (!replacing?.has(document._id)) others.push(document)
  for (const fields of unique) {
    const key = JSON.stringify(fields.map((field) => valueAt(candidate, field) ?? null))
    if (
      others.some(
        (document) =>
          document._id !== candidate._id &&
          JSON.stringify(fields.map((field) => valueAt(document, field) ?? null)) === key,
      )
    ) {
      throw new DuplicateKeyError(`a document with this ${fields.join(', ')} already exists`)
    }
  }
}

export function cursor<T>(run: () => T[]): MemoryCursor<T> {
  return {
    toArray: async () => run(),
    async *[Symbol.asyncIterator]() {
      yield* run()
    },
  }
}

export function updateResult(matchedCount: number, modifiedCount: number, upsertedId?: unknown): UpdateResult {
  return {
    ...ACKNOWLEDGED,
    matchedCount,
    modifiedCount,
    upsertedCount: upsertedId === undefined ? 0 : 1,
    upsertedId: upsertedId ?? null,
  }
}

export function valueAt(document: Document, path: string): unknown {
  let value: unknown = document
  for (const part of path.split('.'))
    value = value !== null && typeof value === 'object' ? (value as Document)[part] : undefined
  return value
}

/** As MongoDB: `$inc` and `$mul` of a field that holds something other than a number fail (mingo skips it). */
export function assertNumeric(document: Document, update: Document): void {
  for (const operator of ['$inc', '$mul']) {
    const fields = update[operator]
    if (fields === null || typeof fields !== 'object') continue
    for (const path of Object.keys(fields)) {
      const value = path.includes('$') ? undefined : valueAt(document, path)
      if (value !== undefined && typeof value !== 'number')
        throw new InvalidQueryError(`cannot apply ${operator} to ${path}, which holds something other than a number`)
    }
  }
}

export function pick(document: Document, key: string): Document {
  return key in document ? { [key]: document[key] } : {}
}

/**
 * The fields an upsert's new document starts with: the filter's equality conditions, at the top
 * level and inside `$and`, as MongoDB takes them.
 */
export function equalitySeed(filter: Filter): Document {
  const seed: Document = {}
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value))
      Object.assign(seed, ...value.map((inner) => equalitySeed(inner as Filter)))
    else if (key.startsWith('$')) continue
    else if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).some((k) => k.startsWith('$'))
    ) {
      if ('$eq' in value) seed[key] = structuredClone((value as Document).$eq)
    } else seed[key] = structuredClone(value)
  }
  return seed
}
