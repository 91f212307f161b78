import { domainToASCII } from 'node:url'

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const MAX_HOSTNAME_BYTES = 253

/**
 * A hostname as tenantry stores and compares it: ASCII (IDNA, so `bücher.example` and
 * `xn--bcher-kva.example` are one name), lower-case, no trailing dot. `null` when the input is
 * not a hostname of at least two labels: IP addresses, ports, paths, `localhost` and single
 * labels are not domains an organization can own.
 *
 * @example
 * normalizeDomain('Shop.Acme.COM.') // 'shop.acme.com'
 */
export function normalizeDomain(input: string): string | null {
  if (typeof input !== 'string') return null
  const trimmed = input.trim().replace(/\.$/, '')
  if (trimmed === '' || trimmed.length > MAX_HOSTNAME_BYTES * 4) return null
  // The URL parser behind domainToASCII would drop a path or port ('a.com/x' → 'a.com').
  if (/[\s/\\?#@:%[\]]/.test(trimmed)) return null
  // domainToASCII lower-cases, applies IDNA and answers '' for anything that is not a domain.
  const ascii = domainToASCII(trimmed)
  if (ascii === '' || ascii.length > MAX_HOSTNAME_BYTES) return null
  const labels = ascii.split('.')
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return null
  // A numeric top-level label is an IPv4 address, not a domain.
  if (/^[0-9]+$/.test(labels.at(-1)!)) return null
  return ascii
}

/** Whether `host` is `base` itself or any name under it. Both must already be normalized. */
export function isAtOrUnder(host: string, base: string): boolean {
  return host === base || host.endsWith(`.${base}`)
}

/**
 * A base domain as configured: a hostname like `normalizeDomain` takes, or `localhost`, so
 * `acme.localhost` works in development (browsers and curl resolve `*.localhost` to loopback).
 */
export function normalizeBaseDomain(input: string): string | null {
  return typeof input === 'string' && input.trim().toLowerCase().replace(/\.$/, '') === 'localhost'
    ? 'localhost'
    : normalizeDomain(input)
}
