import { normalizeDomain } from '../control/domain-name.js'
import { isSlug } from '../control/slug.js'
import type { TenantRef } from '../tenant.js'

/**
 * The tenant a request's host names: `acme.example.com` under a base domain is `{ slug: 'acme' }`,
 * any other valid hostname is `{ domain }`. The base domain itself, `www.` of it, deeper names
 * under it and anything that is not a hostname (an IP address, an empty Host) name no tenant.
 * `hostname` is what the framework read (`req.hostname` / `ctx.hostname`, which honour the host's
 * trust-proxy setting); case, a port and a trailing dot are dropped here. The reference is
 * frozen, so the registry parses it once however often it is used.
 */
export function tenantRefFromHost(hostname: string | undefined, baseDomains: readonly string[]): TenantRef | null {
  if (!hostname || hostname.startsWith('[')) return null
  let host = hostname.toLowerCase()
  const colon = host.indexOf(':')
  if (colon !== -1) host = host.slice(0, colon)
  while (host.endsWith('.')) host = host.slice(0, -1)
  for (const base of baseDomains) {
    if (host === base || host === `www.${base}`) return null
    if (host.length > base.length + 1 && host.endsWith(base) && host[host.length - base.length - 1] === '.') {
      const label = host.slice(0, host.length - base.length - 1)
      return isSlug(label) ? Object.freeze({ slug: label }) : null
    }
  }
  const domain = normalizeDomain(host)
  return domain === null ? null : Object.freeze({ domain })
}
