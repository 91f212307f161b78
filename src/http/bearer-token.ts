import { TokenInvalidError, TokenMissingError } from '../errors.js'

// RFC 6750 §2.1: the scheme is case-insensitive, the token is b64token characters.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

/** Extracts the token from an `Authorization: Bearer …` header or throws a 401-mapped error. */
export function bearerToken(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') throw new TokenMissingError()
  // The usual spelling skips the regex on every request; the token is checked by signature (or
  // found in the cache by exact value) either way, so this decides only the error for junk.
  // Stryker disable next-line ConditionalExpression,MethodExpression,StringLiteral,UnaryOperator: only turns the fast path off
  if (authorization.startsWith('Bearer ') && authorization.indexOf(' ', 7) === -1 && authorization.length > 7)
    return authorization.slice(7)
  const match = BEARER.exec(authorization)
  if (!match)
    throw new TokenInvalidError('the Authorization header must be "Bearer <token>"', { bearerError: 'invalid_request' })
  return match[1]!
}
