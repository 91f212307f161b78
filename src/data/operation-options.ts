import { InvalidQueryError } from '../errors.js'
import { inspect, isPlainObject, refuse } from './query-values.js'

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0
const isDirection = (value: unknown) => value === 1 || value === -1

// How each option is checked: `true` when its value is fine, else what it must be.
const CHECKS: Record<string, (value: unknown) => true | string> = {
  sort: (value) =>
    (isPlainObject(value) && Object.values(value).every(isDirection)) ||
    'an object of 1 and -1, such as { createdAt: -1 }',
  skip: (value) => isCount(value) || 'a whole number, 0 or more',
  limit: (value) => isCount(value) || 'a whole number, 0 or more (0 is no limit)',
  maxTimeMS: (value) => isCount(value) || 'a whole number of milliseconds',
  projection: (value) => isPlainObject(value) || 'an object',
  upsert: (value) => typeof value === 'boolean' || 'true or false',
  ordered: (value) => typeof value === 'boolean' || 'true or false',
  returnDocument: (value) => value === 'before' || value === 'after' || "'before' or 'after'",
  arrayFilters: (value) => (Array.isArray(value) && value.every(isPlainObject)) || 'an array of filters',
  collation: (value) =>
    (isPlainObject(value) && typeof value.locale === 'string') ||
    'an object with a locale, such as { locale: "en", strength: 2 }',
  hint: (value) =>
    typeof value === 'string' ||
    (isPlainObject(value) && Object.values(value).every(isDirection)) ||
    'an index name or key pattern',
  comment: (value) => typeof value === 'string' || 'a string',
}

/**
 * Refuses an option this operation does not list (`TenantIsolationError`: an unknown option is
 * never passed through) and a listed one with a bad value (`InvalidQueryError`: `skip(NaN)`, a
 * negative limit). Projections, sorts and array filters pass the same walk as filters.
 */
export function checkOptions(
  options: unknown,
  allowed: readonly string[],
  operation: string,
  tenantField?: string,
): void {
  if (options === undefined) return
  if (!isPlainObject(options)) refuse(`the options of ${operation} must be an object`)
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    if (!allowed.includes(key)) refuse(`${operation} does not take the option ${key}`)
    // A bulk operation's filter, update or document is checked by its own rules.
    const check = CHECKS[key]
    if (!check) continue
    const verdict = check(value)
    if (verdict !== true) throw new InvalidQueryError(`${operation}: ${key} must be ${verdict}`)
    inspect(value, { tenantField })
  }
}
