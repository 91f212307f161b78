import { QueryLimitError, TenantIsolationError } from '../errors.js'

// Server-side JavaScript, wherever it appears.
const CODE_OPERATORS = new Set(['$where', '$function', '$accumulator'])
const MAX_DEPTH = 64
// About what a 16 MB BSON command holds of small values: past it, a query is an attack or a bug.
const MAX_VALUES = 100_000

/** What a walk of one filter, update, pipeline or option checks besides code and size. */
export interface ValueRules {
  /** On `'shared'`: the tenant field, which no path, key or `$field` reference may name. */
  tenantField?: string
  /** Refuse `$$ROOT` and `$$CURRENT`, which carry the whole stored document (update pipelines on `'shared'`). */
  noRoot?: boolean
}

export function refuse(message: string): never {
  throw new TenantIsolationError(message)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** Whether `path` is the tenant field or a path under it. */
export function touches(path: string, field: string): boolean {
  return path === field || path.startsWith(`${field}.`)
}

/**
 * Walks a filter, projection, expression, update or stage: no server-side JavaScript, no absurd
 * depth or size, and only values the driver sends as they look. A `Map` or a class instance is
 * serialized as a document, so a `$where` inside one would reach the server unseen: refused.
 */
export function inspect(value: unknown, rules: ValueRules = {}): void {
  const budget = { left: MAX_VALUES }
  walk(value, rules, 0, budget)
}

function walk(value: unknown, rules: ValueRules, depth: number, budget: { left: number }): void {
  if (--budget.left < 0) throw new QueryLimitError(`the query holds more than ${MAX_VALUES} values`)
  if (depth > MAX_DEPTH) refuse('the query is nested too deeply')
  if (typeof value === 'string') {
    checkReference(value, rules)
    return
  }
  if (typeof value !== 'object' || value === null) return
  if (Array.isArray(value)) {
    for (const item of value) walk(item, rules, depth + 1, budget)
    return
  }
  if (!isPlainObject(value)) {
    checkOpaque(value)
    return
  }
  for (const key in value) {
    if (CODE_OPERATORS.has(key)) refuse(`${key} runs code on the server and is not allowed`)
    if (rules.tenantField !== undefined && touches(key, rules.tenantField))
      refuse(tenantFieldMessage(rules.tenantField))
    walk(value[key], rules, depth + 1, budget)
  }
}

function checkReference(value: string, rules: ValueRules): void {
  if (value.charCodeAt(0) !== 36 /* $ */) return
  if (rules.tenantField !== undefined && touches(value.slice(1), rules.tenantField))
    refuse(tenantFieldMessage(rules.tenantField))
  if (rules.noRoot && /^\$\$(ROOT|CURRENT)(\.|$)/.test(value))
    refuse(`an update pipeline may not use ${value.split('.')[0]} on the shared strategy`)
}

// The values the driver serializes as what they are: dates, patterns, binary and BSON types.
function checkOpaque(value: object): void {
  if (value instanceof Date || value instanceof RegExp || ArrayBuffer.isView(value)) return
  const bsonType = (value as { _bsontype?: unknown })._bsontype
  if (typeof bsonType === 'string' && bsonType !== 'Code') return
  const kind = bsonType === 'Code' ? 'BSON Code' : (value.constructor?.name ?? 'object')
  refuse(`a query may hold plain objects, arrays, dates, patterns and BSON values, not a ${kind}`)
}

export function tenantFieldMessage(field: string): string {
  return `${field} is the tenant field, which tenantry keeps to itself on the shared strategy`
}
