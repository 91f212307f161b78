import { randomBytes } from 'node:crypto'
import { z } from 'zod'

/** DNS label rules (RFC 1035 §2.3.1): what a slug must be to serve as `<slug>.example.com`. */
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const SLUG_MAX_CHARACTERS = 63

/**
 * Slugs no organization may take, because a host app usually serves something of its own at
 * `<slug>.<base domain>`. Replace or extend it with `createTenancy({ reservedSlugs })`.
 */
export const DEFAULT_RESERVED_SLUGS: readonly string[] = Object.freeze([
  'www',
  'api',
  'admin',
  'app',
  'apps',
  'auth',
  'login',
  'logout',
  'signin',
  'signup',
  'account',
  'accounts',
  'dashboard',
  'console',
  'portal',
  'mail',
  'email',
  'smtp',
  'imap',
  'pop',
  'ftp',
  'ns',
  'ns1',
  'ns2',
  'dns',
  'static',
  'assets',
  'cdn',
  'media',
  'files',
  'img',
  'docs',
  'help',
  'support',
  'status',
  'blog',
  'dev',
  'staging',
  'test',
  'internal',
  'root',
  'system',
  'billing',
  'tenantry',
])

/** The slug schema for input: lower-cased before it is checked, so `Acme` is taken as `acme`. */
export const slug = z
  .string()
  .trim()
  .toLowerCase()
  .max(SLUG_MAX_CHARACTERS, `must be at most ${SLUG_MAX_CHARACTERS} characters`)
  .regex(SLUG, 'must be a DNS label: a-z, 0-9 and "-", not starting or ending with "-"')

export function isSlug(value: string): boolean {
  return SLUG.test(value)
}

/**
 * A slug derived from an organization name: accents dropped, anything but a-z and 0-9 turned
 * into single hyphens. A name with no such characters at all (`株式会社`) gets `org-<hex>`.
 */
export function slugFromName(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, SLUG_MAX_CHARACTERS)
    .replace(/-+$/, '')
  return base === '' ? `org-${randomBytes(3).toString('hex')}` : base
}

/** The same slug with a random suffix, for when the derived one is taken or reserved. */
export function slugWithSuffix(base: string): string {
  return `${base.slice(0, SLUG_MAX_CHARACTERS - 7).replace(/-+$/, '')}-${randomBytes(3).toString('hex')}`
}
