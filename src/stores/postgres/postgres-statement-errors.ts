import {
  ConstraintViolationError,
  DatabaseUnavailableError,
  DuplicateKeyError,
  InvalidQueryError,
  QueryTimeoutError,
  TenantryError,
  TransactionConflictError,
} from '../../errors.js'

type ErrorClass = new (message: string, options?: { cause?: unknown }) => TenantryError

/** SQLSTATEs by exact code, before their class is looked at. */
const BY_CODE: Record<string, ErrorClass> = {
  '23505': DuplicateKeyError,
  // statement_timeout (and a cancel), idle_in_transaction_session_timeout, lock_timeout, transaction_timeout.
  '57014': QueryTimeoutError,
  '25P03': QueryTimeoutError,
  '25P04': QueryTimeoutError,
  '55P03': QueryTimeoutError,
  '40001': TransactionConflictError,
  '40P01': TransactionConflictError,
}

/** SQLSTATE classes (the first two characters) caused by the server's state, not the statement. */
const BY_CLASS: Record<string, ErrorClass> = {
  '23': ConstraintViolationError,
  // Connection exceptions, insufficient resources (too many connections), operator intervention.
  '08': DatabaseUnavailableError,
  '53': DatabaseUnavailableError,
  '57': DatabaseUnavailableError,
  // System and internal errors, configuration, foreign data, snapshot too old: a fault, not the tenant's.
  '58': TenantryError,
  XX: TenantryError,
  F0: TenantryError,
  HV: TenantryError,
  '72': TenantryError,
}

// pg reports a lost socket with the socket's error, or with one of its own that has no code.
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTCONN'])
const LOST = /^(Connection terminated|Client has encountered a connection error|Client was closed)/

/**
 * What an error escaping `tenant.query` or `tenant.transaction` becomes: an engine error (one
 * with a SQLSTATE and a severity) a typed `TenantryError` with the engine's message and the
 * driver's error as `cause`; a lost connection `DatabaseUnavailableError`. Anything else (the
 * host's own errors, tenantry's) is answered as it is. Any SQLSTATE not listed is the
 * statement's fault (syntax, data, privileges: classes 22, 42, 0A, 25, ...): `InvalidQueryError`.
 *
 * @example
 * try { await run() } catch (err) { throw statementError(err) }
 */
export function statementError(err: unknown): unknown {
  if (err instanceof TenantryError || !(err instanceof Error)) return err
  const { code, severity } = err as { code?: unknown; severity?: unknown }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string') {
    const Class = BY_CODE[code] ?? BY_CLASS[code.slice(0, 2)] ?? InvalidQueryError
    return new Class(err.message, { cause: err })
  }
  if ((typeof code === 'string' && SOCKET_CODES.has(code)) || (code === undefined && LOST.test(err.message)))
    return new DatabaseUnavailableError(`the connection to PostgreSQL was lost: ${err.message}`, { cause: err })
  return err
}
