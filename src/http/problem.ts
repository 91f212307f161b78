import type { ErrorCode } from '../error-code.js'
import {
  DatabaseUnavailableError,
  LimitReachedError,
  OrganizationRequiredError,
  PermissionDeniedError,
  TenantryError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TooManyRequestsError,
  ValidationError,
} from '../errors.js'
import type * as httpErrors from './http-errors.js'
import { MethodNotAllowedError } from './http-errors.js'
import type { HttpResponse } from './http-types.js'

type HttpErrorCode = (typeof httpErrors)[keyof typeof httpErrors]['code']
// Bugs in the host (code that needs a tenant ran outside one), never an answer to a client.
type UnansweredCode = 'NO_TENANT_CONTEXT'

// A new error class without an entry here fails the type check instead of becoming a 500.
export const PROBLEMS: Record<string, { status: number; title: string } | undefined> = {
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON' },
  TENANT_ISOLATION: { status: 400, title: 'Operation not allowed on tenant data' },
  INVALID_QUERY: { status: 400, title: 'Invalid query' },
  UNSUPPORTED_QUERY: { status: 400, title: 'Query not supported by this store' },
  QUERY_LIMIT: { status: 400, title: 'Query exceeds a limit' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  TOKEN_MISSING: { status: 401, title: 'Authentication required' },
  TOKEN_INVALID: { status: 401, title: 'Invalid token' },
  TOKEN_EXPIRED: { status: 401, title: 'Token expired' },
  REFRESH_TOKEN_INVALID: { status: 401, title: 'Invalid refresh token' },
  ORGANIZATION_REQUIRED: { status: 400, title: 'Organization required' },
  INVITATION_INVALID: { status: 401, title: 'Invalid invitation' },
  NOT_ORGANIZATION_ADMIN: { status: 403, title: 'Forbidden' },
  PERMISSION_DENIED: { status: 403, title: 'Permission denied' },
  MEMBER_NOT_FOUND: { status: 404, title: 'Member not found' },
  INVITATION_NOT_FOUND: { status: 404, title: 'Invitation not found' },
  ALREADY_A_MEMBER: { status: 409, title: 'Already a member' },
  LIMIT_REACHED: { status: 409, title: 'Limit reached' },
  INVITATION_PENDING: { status: 409, title: 'Invitation pending' },
  CROSS_ORIGIN_REFUSED: { status: 403, title: 'Cross-origin request refused' },
  TENANT_ACCESS_DENIED: { status: 403, title: 'Access to this organization denied' },
  NOT_SIGNED_IN: { status: 401, title: 'Not signed in' },
  ORGANIZATION_SUSPENDED: { status: 403, title: 'Organization suspended' },
  ORGANIZATION_NOT_FOUND: { status: 404, title: 'Organization not found' },
  TENANT_NOT_IDENTIFIED: { status: 404, title: 'No organization identified' },
  DOMAIN_NOT_FOUND: { status: 404, title: 'Domain not found' },
  UNKNOWN_COLLECTION: { status: 404, title: 'Collection not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  ORGANIZATION_NAME_TAKEN: { status: 409, title: 'Organization name taken' },
  ADMIN_EMAIL_TAKEN: { status: 409, title: 'Admin email taken' },
  SUBJECT_TAKEN: { status: 409, title: 'Subject already linked' },
  SLUG_TAKEN: { status: 409, title: 'Slug taken' },
  DOMAIN_TAKEN: { status: 409, title: 'Domain taken' },
  DUPLICATE_KEY: { status: 409, title: 'Duplicate key' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests' },
  CAPACITY_EXCEEDED: { status: 503, title: 'No capacity for another organization' },
  QUERY_TIMEOUT: { status: 503, title: 'Query timed out' },
  CONSTRAINT_VIOLATION: { status: 409, title: 'Constraint violated' },
  // A conflict with a concurrent request, not an outage: retried, it usually succeeds.
  TRANSACTION_CONFLICT: { status: 409, title: 'Transaction conflict' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  MIGRATION_REQUIRED: { status: 503, title: 'Migration required' },
} satisfies Record<Exclude<ErrorCode | HttpErrorCode, UnansweredCode>, { status: number; title: string }>

/**
 * The one place a `TenantryError` becomes an HTTP answer: RFC 9457 problem+json with a stable
 * `type` URN and `code`, plus `errors` (JSON Pointers, as in RFC 9457 §3) for validation.
 * Returns `null` for anything else, which is a bug or an outage and is left to the host's own
 * error handling rather than dressed up as a client error.
 *
 * @example
 * const response = toProblem(new TokenMissingError()) // { status: 401, headers: {...}, body: '{...}' }
 */
export function toProblem(err: unknown): HttpResponse | null {
  if (!(err instanceof TenantryError)) return null
  const problem = PROBLEMS[err.code]
  if (!problem) return null
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' }
  // RFC 6750 §3: no error code when no credentials were sent; invalid_request for a malformed
  // header; invalid_token for a token we refuse; insufficient_scope for a missing permission.
  if (err instanceof TokenMissingError) headers['www-authenticate'] = 'Bearer realm="tenantry"'
  if (err instanceof TokenInvalidError) headers['www-authenticate'] = bearerChallenge(err.bearerError, err.message)
  if (err instanceof TokenExpiredError) headers['www-authenticate'] = bearerChallenge('invalid_token', err.message)
  if (err instanceof PermissionDeniedError)
    headers['www-authenticate'] = bearerChallenge('insufficient_scope', err.message)
  if (err instanceof MethodNotAllowedError) headers.allow = err.allow.join(', ')
  if (err instanceof TooManyRequestsError) headers['retry-after'] = String(err.retryAfterSeconds)
  if (err instanceof DatabaseUnavailableError) headers['retry-after'] = '1'
  const body = {
    type: `urn:tenantry:problem:${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: problem.title,
    status: problem.status,
    detail: err.message,
    code: err.code,
    ...(err instanceof ValidationError ? { errors: err.issues } : {}),
    ...(err instanceof OrganizationRequiredError ? { organizations: err.organizations } : {}),
    ...(err instanceof LimitReachedError ? { limit: err.limit, max: err.max } : {}),
  }
  return { status: problem.status, headers, body: JSON.stringify(body) }
}

/** A `WWW-Authenticate: Bearer` challenge; the description keeps only the characters RFC 6750 §3 allows in it. */
function bearerChallenge(error: string, description: string): string {
  return `Bearer realm="tenantry", error="${error}", error_description="${description.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`
}
