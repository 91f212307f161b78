import type { IncomingHttpHeaders } from 'node:http'
import type { TenantRef } from '../tenant.js'

/** A request as the adapters hand it to the core: plain data, no framework objects. */
export interface HttpRequest {
  method: string
  /** Path and query, relative to where the host mounted the router (`req.url` / `ctx.url`). */
  url: string
  headers: IncomingHttpHeaders
  /** The raw body stream, read only when a route takes a body. */
  body: AsyncIterable<Uint8Array>
  /** A body the host's own body parser already read, if any: used instead of the stream. */
  parsedBody?: unknown
  /** The client's address as the framework sees it (`req.ip` / `ctx.ip`, which honour the host's proxy settings). */
  clientAddress?: string
  /** The framework's own request (`req` / `ctx`), handed to the host's `identify` and nothing else. */
  source?: unknown
}

/**
 * Who the host app says is signed in: its own user id (`subject`), optionally their email and
 * the organization their session acts in.
 */
export interface HostIdentity {
  subject: string
  email?: string
  organization?: TenantRef
}

/** A response for the adapters to write as is. `body` is already serialized. */
export interface HttpResponse {
  status: number
  headers: Record<string, string>
  body?: string
}
