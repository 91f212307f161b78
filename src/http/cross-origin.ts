import { CrossOriginRequestError } from './http-errors.js'
import type { HttpRequest } from './http-types.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * The check `orgRouter` makes before acting on the host's sign-in (`identify`), which a browser
 * proves with a cookie it sends on any site's request: an unsafe method from another origin is
 * refused. `Sec-Fetch-Site` decides when the browser sends it; otherwise `Origin` must name this
 * host or one of `allowedOrigins`. A request with neither comes from no browser (or one too old
 * to send them) and carries no ambient cookie worth forging.
 *
 * @example
 * const check = crossOriginCheck(['https://app.example.com'])
 * check(request) // throws CrossOriginRequestError for a cross-site POST
 */
export function crossOriginCheck(allowedOrigins: readonly string[]): (request: HttpRequest) => void {
  const allowed = new Set(allowedOrigins.map(parseOrigin))
  return function refuseCrossOrigin(request) {
    if (SAFE_METHODS.has(request.method.toUpperCase())) return
    const origin = request.headers.origin
    if (origin !== undefined && allowed.has(origin.toLowerCase())) return
    const site = request.headers['sec-fetch-site']
    if (site === 'same-origin' || site === 'none') return
    if (site === undefined && (origin === undefined || sameHost(origin, request.headers.host))) return
    throw new CrossOriginRequestError('this request comes from another origin; it is refused')
  }
}

/** `https://app.example.com` as a browser writes it in `Origin`; a `TypeError` for anything else. */
function parseOrigin(value: string): string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    // Reported below.
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.origin !== value.toLowerCase().replace(/\/$/, ''))
    throw new TypeError(
      `tenantry: allowedOrigins takes origins such as https://app.example.com, not ${JSON.stringify(value)}`,
    )
  return url.origin
}

// `Origin: null` (a sandboxed frame, a redirect across sites) never parses to a host, so it never matches.
function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase()
  } catch {
    return false
  }
}
