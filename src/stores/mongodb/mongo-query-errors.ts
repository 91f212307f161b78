import {
  DuplicateKeyError,
  InvalidQueryError,
  QueryLimitError,
  QueryTimeoutError,
  type TenantryError,
  UnsupportedQueryError,
  type WritesApplied,
} from '../../errors.js'

const DUPLICATE_KEY = 11000
const MAX_TIME_MS_EXPIRED = 50
// Codes the server answers a malformed query, update or pipeline with: BadValue, FailedToParse,
// TypeMismatch, Overflow, InvalidLength, PathNotViable, ConflictingUpdateOperators,
// DollarPrefixedFieldName, InvalidIdField, NotSingleValueField, EmptyFieldName, DottedFieldName,
// ImmutableField, InvalidOptions, InvalidPipelineOperator, ConversionFailure. And those of a query
// or document the collection's indexes cannot serve: IndexNotFound ($text, $near without their
// index), CannotCreateIndex, CannotIndexParallelArrays, CannotBuildIndexKeys, NoQueryExecutionPlans.
const INVALID = new Set([2, 9, 14, 15, 16, 27, 28, 40, 52, 53, 54, 56, 57, 66, 67, 72, 168, 171, 201, 241, 291])
// BSONObjectTooLarge, ExceededMemoryLimit, MaxSubPipelineDepthExceeded,
// QueryExceededMemoryLimitNoDiskUseAllowed, KeyTooLong.
const LIMITS = new Set([10334, 146, 232, 292, 17280])
// QueryFeatureNotAllowed: a feature this server or its settings refuse (server-side JavaScript off,
// a stage the feature compatibility version lacks).
const UNSUPPORTED = new Set([224])
// Location codes (uassert ids) at and past this are the server's own checks of a query; the
// codes of outages, elections and stale routing all lie below it.
const FIRST_LOCATION_CODE = 15_000
// Codes below the location range that are outages however they look, kept as they are.
const OUTAGES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11601, 11602, 13388, 13435, 13436])

interface ServerErrorShape {
  name?: unknown
  code?: unknown
  message?: unknown
  errorLabels?: unknown
  /** A MongoBulkWriteError's counts of what was applied, and each write's failure. */
  result?: Partial<Omit<WritesApplied, 'failures'>>
  writeErrors?: { index?: unknown; code?: unknown } | { index?: unknown; code?: unknown }[]
}

/**
 * A MongoDB server error caused by the tenant's own query, as the typed error the in-memory store
 * throws for it: a unique key taken, a time limit passed, a limit exceeded, a query the server
 * could not parse or a feature it refuses. A failed `insertMany` or `bulkWrite` also says what it
 * applied (`writes`). Anything else (network, elections, write concern) is handed on as it is: an
 * outage is the host's to see, not a 400. The message never repeats the key's values.
 */
export function mongoQueryError(err: unknown): unknown {
  const error = err as ServerErrorShape | null
  if (
    error === null ||
    typeof error !== 'object' ||
    (error.name !== 'MongoServerError' && error.name !== 'MongoBulkWriteError')
  )
    return err
  if (Array.isArray(error.errorLabels) && error.errorLabels.length > 0) return err
  const typed = typedError(error.code, String(error.message), err)
  if (typed === undefined || error.name !== 'MongoBulkWriteError') return typed ?? err
  const writes = writesApplied(error)
  if (writes === undefined) return err
  typed.writes = writes
  return typed
}

function typedError(code: unknown, message: string, cause: unknown): TenantryError | undefined {
  if (typeof code !== 'number' || OUTAGES.has(code)) return undefined
  if (code === DUPLICATE_KEY) return new DuplicateKeyError('a document with this key already exists', { cause })
  if (code === MAX_TIME_MS_EXPIRED) return new QueryTimeoutError('the operation ran past its maxTimeMS', { cause })
  if (LIMITS.has(code)) return new QueryLimitError(`the operation exceeds a server limit (${message})`, { cause })
  if (UNSUPPORTED.has(code)) return new UnsupportedQueryError(message, { cause })
  if (INVALID.has(code) || code >= FIRST_LOCATION_CODE) return new InvalidQueryError(message, { cause })
  return undefined
}

/** The driver's counts and each write error, by position with its typed code; `undefined` if one is an outage. */
function writesApplied(error: ServerErrorShape): WritesApplied | undefined {
  const writeErrors = [error.writeErrors ?? []].flat()
  const failures: WritesApplied['failures'] = []
  for (const { index, code } of writeErrors) {
    const typed = typedError(code, '', undefined)
    if (typed === undefined || typeof index !== 'number') return undefined
    failures.push({ index, code: typed.code })
  }
  const count = (key: keyof Omit<WritesApplied, 'failures'>) => Number(error.result?.[key] ?? 0)
  return {
    insertedCount: count('insertedCount'),
    matchedCount: count('matchedCount'),
    modifiedCount: count('modifiedCount'),
    deletedCount: count('deletedCount'),
    upsertedCount: count('upsertedCount'),
    failures,
  }
}
