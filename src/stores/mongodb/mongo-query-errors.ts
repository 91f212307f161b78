import { DuplicateKeyError, InvalidQueryError, QueryLimitError, QueryTimeoutError } from '../../errors.js'

const DUPLICATE_KEY = 11000
const MAX_TIME_MS_EXPIRED = 50
// Codes the server answers a malformed query, update or pipeline with: BadValue, FailedToParse,
// TypeMismatch, Overflow, InvalidLength, PathNotViable, ConflictingUpdateOperators,
// DollarPrefixedFieldName, InvalidIdField, NotSingleValueField, EmptyFieldName, DottedFieldName,
// ImmutableField, InvalidOptions, InvalidPipelineOperator, ConversionFailure, Location codes.
const INVALID = new Set([2, 9, 14, 15, 16, 28, 40, 52, 53, 54, 56, 57, 66, 72, 168, 241])
// BSONObjectTooLarge, ExceededMemoryLimit, QueryExceededMemoryLimitNoDiskUseAllowed, KeyTooLong.
const LIMITS = new Set([10334, 146, 292, 17280])
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
}

/**
 * A MongoDB server error caused by the tenant's own query, as the typed error the in-memory store
 * throws for it: a unique key taken, a time limit passed, a limit exceeded, a query the server
 * could not parse. Anything else (network, elections, write concern) is handed on as it is: an
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
  const { code } = error
  if (
    typeof code !== 'number' ||
    OUTAGES.has(code) ||
    (Array.isArray(error.errorLabels) && error.errorLabels.length > 0)
  )
    return err
  if (code === DUPLICATE_KEY) return new DuplicateKeyError('a document with this key already exists', { cause: err })
  if (code === MAX_TIME_MS_EXPIRED) return new QueryTimeoutError('the operation ran past its maxTimeMS', { cause: err })
  if (LIMITS.has(code))
    return new QueryLimitError(`the operation exceeds a server limit (${String(error.message)})`, { cause: err })
  if (INVALID.has(code) || code >= FIRST_LOCATION_CODE)
    return new InvalidQueryError(String(error.message), { cause: err })
  return err
}
