import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  Document,
  Filter,
  UpdateFilter,
  UpdateOptions,
  UpdateResult,
} from '../../data/collection-types.js'
import { InvalidQueryError } from '../../errors.js'

/** The single-document methods a bulk write is made of. */
interface BulkTarget<T> {
  insertOne(document: T): Promise<{ insertedId: unknown }>
  updateOne(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  updateMany(filter: Filter, update: UpdateFilter, options?: UpdateOptions): Promise<UpdateResult>
  replaceOne(filter: Filter, replacement: T, options?: { upsert?: boolean }): Promise<UpdateResult>
  deleteOne(filter: Filter): Promise<{ deletedCount: number }>
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>
}

/** `bulkWrite` over a collection's own methods: each operation as its single call would do it, in order. */
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
  let failure: unknown
  for (const [index, operation] of operations.entries()) {
    try {
      await bulkOne(collection, operation, index, result)
    } catch (err) {
      failure ??= err
      if (options.ordered !== false) break
    }
  }
  if (failure !== undefined) throw failure
  return result
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
