import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  Document,
  Filter,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
} from '../../data/collection-types.js'
import { InvalidQueryError, TenantryError, type WritesApplied } from '../../errors.js'

/** The single-document methods a bulk write is made of. */
interface BulkTarget<T> {
  insertOne(document: T): Promise<{ insertedId: unknown }>
  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  replaceOne(filter: Filter, replacement: T, options?: { upsert?: boolean }): Promise<UpdateResult>
  deleteOne(filter: Filter): Promise<{ deletedCount: number }>
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>
}

/**
 * `bulkWrite` over a collection's own methods: each operation as its single call would do it, in
 * order. As on MongoDB, what ran before a failure stays; ordered (the default) stops there,
 * `ordered: false` carries on. The first failure is thrown, with `writes` saying how far it got.
 */
export async function bulkWrite<T extends Document>(
  collection: BulkTarget<T>,
  operations: AnyBulkWriteOperation<T>[],
  options: { ordered?: boolean },
): Promise<BulkWriteResult> {
  const result: BulkWriteResult = {
    insertedCount: 0,
    matchedCount: 0,
    modifiedCount: 0,
    deletedCount: 0,
    upsertedCount: 0,
    insertedIds: {},
    upsertedIds: {},
  }
  const failures: { index: number; error: unknown }[] = []
  for (const [index, operation] of operations.entries()) {
    try {
      await bulkOne(collection, operation, index, result)
    } catch (error) {
      failures.push({ index, error })
      if (options.ordered !== false) break
    }
  }
  if (failures.length > 0) throw withWrites(result, failures)
  return result
}

/**
 * The first failure, carrying what was applied and every failure by position; an untyped one
 * (no store error should be) is thrown as it is.
 */
export function withWrites(
  applied: Omit<BulkWriteResult, 'insertedIds' | 'upsertedIds'>,
  failures: { index: number; error: unknown }[],
): unknown {
  const [first] = failures
  if (!failures.every(({ error }) => error instanceof TenantryError)) return first!.error
  const { insertedCount, matchedCount, modifiedCount, deletedCount, upsertedCount } = applied
  const writes: WritesApplied = {
    insertedCount,
    matchedCount,
    modifiedCount,
    deletedCount,
    upsertedCount,
    failures: failures.map(({ index, error }) => ({ index, code: (error as TenantryError).code })),
  }
  ;(first!.error as TenantryError).writes = writes
  return first!.error
}

async function bulkOne<T extends Document>(
  collection: BulkTarget<T>,
  operation: AnyBulkWriteOperation<T>,
  index: number,
  result: BulkWriteResult,
): Promise<void> {
  let outcome: UpdateResult | undefined
  if ('insertOne' in operation) {
    result.insertedIds[index] = (await collection.insertOne(operation.insertOne.document)).insertedId
    result.insertedCount++
    return
  }
  if ('updateOne' in operation)
    outcome = await collection.updateOne(operation.updateOne.filter, operation.updateOne.update, operation.updateOne)
  else if ('updateMany' in operation)
    outcome = await collection.updateMany(
      operation.updateMany.filter,
      operation.updateMany.update,
      operation.updateMany,
    )
  else if ('replaceOne' in operation)
    outcome = await collection.replaceOne(
      operation.replaceOne.filter,
      operation.replaceOne.replacement,
      operation.replaceOne,
    )
  else if ('deleteOne' in operation)
    result.deletedCount += (await collection.deleteOne(operation.deleteOne.filter)).deletedCount
  else if ('deleteMany' in operation)
    result.deletedCount += (await collection.deleteMany(operation.deleteMany.filter)).deletedCount
  else throw new InvalidQueryError('unknown bulkWrite operation')
  if (!outcome) return
  result.matchedCount += outcome.matchedCount
  result.modifiedCount += outcome.modifiedCount
  if (outcome.upsertedCount > 0) {
    result.upsertedCount++
    result.upsertedIds[index] = outcome.upsertedId
  }
}
