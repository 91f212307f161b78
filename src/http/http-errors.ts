import { TenantryError } from '../errors.js'

/**
 * The failures only an HTTP request can have: its body, its media type, its method. The core
 * never throws them; `toProblem` maps them like every other `TenantryError`.
 */

/** The request body is not valid JSON (or not valid UTF-8). */
export class MalformedJsonError extends TenantryError {
  static override code = 'MALFORMED_JSON' as const
}

/** The request body is not declared as JSON, or is compressed. */
export class UnsupportedMediaTypeError extends TenantryError {
  static override code = 'UNSUPPORTED_MEDIA_TYPE' as const
}

/** The request body is larger than the configured limit. */
export class PayloadTooLargeError extends TenantryError {
  static override code = 'PAYLOAD_TOO_LARGE' as const
  readonly limit: number

  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`)
    this.limit = limit
  }
}

/** The path exists, but not for this HTTP method. */
export class MethodNotAllowedError extends TenantryError {
  static override code = 'METHOD_NOT_ALLOWED' as const
  readonly allow: string[]

  constructor(allow: string[]) {
    super(`method not allowed; use ${allow.join(', ')}`)
    this.allow = allow
  }
}

/** A browser sent an unsafe request from another origin to a route that acts on its cookies. */
export class CrossOriginRequestError extends TenantryError {
  static override code = 'CROSS_ORIGIN_REFUSED' as const
}
