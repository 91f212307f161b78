import { TenantIsolationError } from '../errors.js'
import type { Document, Filter, UpdateFilter } from './collection-types.js'

/**
 * The rules that keep an operation inside one tenant's documents, by allow-list: what is not
 * listed here is refused with `TenantIsolationError`, never passed through. `scope` is the
 * tenant field and value on the shared strategy, `null` where the collection is the tenant's own.
 */
export interface TenantField {
  field: string
  value: string
}

// Aggregation stages that only transform the documents already in the pipeline. Every stage
// that reads or writes other data ($lookup, $graphLookup, $unionWith, $out, $merge, $collStats,
// $indexStats, $currentOp, $changeStream, $documents, ...) is absent, so refused.
const STAGES = new Set([
  '$match', '$project', '$addFields', '$set', '$unset', '$group', '$sort', '$limit', '$skip', '$count', '$unwind',
  '$facet', '$bucket', '$bucketAuto', '$sortByCount', '$replaceRoot', '$replaceWith', '$sample', '$setWindowFields',
  '$densify', '$fill', '$redact',
])
const UPDATE_OPERATORS = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max', '$rename', '$setOnInsert', '$push', '$pull', '$addToSet', '$pop', '$pullAll', '$currentDate', '$bit'])
// Stages of a pipeline update that add or remove named fields, and so can be checked field by field.
const FIELD_STAGES = new Set(['$set', '$addFields', '$unset'])
// Server-side JavaScript, wherever it appears.
const CODE_OPERATORS = new Set(['$where', '$function', '$accumulator'])
const MAX_DEPTH = 64

function refuse(message: string): never {
  throw new TenantIsolationError(message)
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** Walks a filter, projection or expression: no server-side JavaScript, no absurd depth. */
function assertNoCode(value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) refuse('the query is nested too deeply')
  if (Array.isArray(value)) {
    for (const item of value) assertNoCode(item, depth + 1)
  } else if (isPlainObject(value)) {
    for (const key in value) {
      if (CODE_OPERATORS.has(key)) refuse(`${key} runs code on the server and is not allowed`)
      assertNoCode(value[key], depth + 1)
    }
  }
}

/** Refuses options this operation does not list. */
export function checkOptions(options: unknown, allowed: readonly string[], operation: string): void {
  if (options === undefined) return
  if (!isPlainObject(options)) refuse(`the options of ${operation} must be an object`)
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue
    if (!allowed.includes(key)) refuse(`${operation} does not take the option ${key}`)
    assertNoCode(value)
  }
}

/** The filter, confined to the tenant: the caller's conditions AND the tenant field. */
export function scopeFilter(filter: Filter | undefined, scope: TenantField | null): Filter {
  if (filter === undefined) filter = {}
  if (!isPlainObject(filter)) refuse('a filter must be an object')
  assertNoCode(filter)
  if (!scope) return filter
  // The tenant condition joins the filter's own top-level conditions (an implicit AND), after
  // them so a selective one like _id is tested first; only a filter that itself names the
  // tenant field needs an explicit $and, so both conditions hold.
  if (Object.hasOwn(filter, scope.field)) return { $and: [filter, { [scope.field]: scope.value }] }
  const scoped: Filter = { ...filter }
  scoped[scope.field] = scope.value
  return scoped
}

/**
 * The filter of an upsert, confined like any filter. On the shared strategy it may not name the
 * tenant field at all: the new document takes its fields from the filter's equalities, and
 * MongoDB and the in-memory store would otherwise disagree on which tenant id wins.
 */
export function scopeUpsertFilter(filter: Filter | undefined, scope: TenantField | null, upsert: unknown): Filter {
  if (scope && upsert === true && namesField(filter, scope.field, 0)) refuse(`an upsert's filter may not name the tenant field ${scope.field}`)
  return scopeFilter(filter, scope)
}

function namesField(value: unknown, field: string, depth: number): boolean {
  if (depth > MAX_DEPTH) refuse('the query is nested too deeply')
  if (Array.isArray(value)) return value.some((item) => namesField(item, field, depth + 1))
  if (!isPlainObject(value)) return false
  return Object.entries(value).some(([key, item]) => touches(key, field) || namesField(item, field, depth + 1))
}

function touches(path: string, field: string): boolean {
  if (path === field || path.startsWith(`${field}.`)) return true
  // A parent of the tenant field. Stores accept only a top-level tenant field (parseTenantField),
  // so nothing can reach this today; it stays for a store that allows a dotted one.
  // Stryker disable next-line all: no path is the parent of a top-level field
  return field.startsWith(`${path}.`)
}

function checkFieldNames(paths: Iterable<string>, scope: TenantField | null, operation: string): void {
  if (!scope) return
  for (const path of paths) if (touches(path, scope.field)) refuse(`${operation} may not change the tenant field ${scope.field}`)
}

/**
 * An update: operators from the allow-list whose paths (and `$rename` targets) leave the tenant
 * field alone, or a pipeline of stages that name the fields they write (`$set`, `$addFields`,
 * `$unset`; on the shared strategy nothing that rewrites the whole document) doing the same.
 */
export function scopeUpdate(update: UpdateFilter, scope: TenantField | null): UpdateFilter {
  if (Array.isArray(update)) {
    if (update.length === 0) refuse('an update pipeline needs at least one stage')
    for (const stage of update) {
      const [name, ...rest] = isPlainObject(stage) ? Object.keys(stage) : []
      if (name === undefined || rest.length > 0) refuse('each stage of an update pipeline has exactly one operator')
      if (scope ? !FIELD_STAGES.has(name) : !FIELD_STAGES.has(name) && name !== '$project' && name !== '$replaceWith' && name !== '$replaceRoot') {
        refuse(`an update pipeline may not use ${name}`)
      }
      const body = (stage as Record<string, unknown>)[name]
      assertNoCode(body)
      const fields = name === '$unset' ? (Array.isArray(body) ? body : [body]) : isPlainObject(body) ? Object.keys(body) : refuse(`${name} takes an object`)
      if (fields.some((field) => typeof field !== 'string')) refuse('$unset takes field names')
      checkFieldNames(fields as string[], scope, 'an update')
    }
    return update
  }
  if (!isPlainObject(update)) refuse('an update must be an object of update operators or a pipeline')
  const operators = Object.keys(update)
  if (operators.length === 0) refuse('an update needs at least one operator')
  for (const operator of operators) {
    if (!UPDATE_OPERATORS.has(operator)) refuse(operator.startsWith('$') ? `the update operator ${operator} is not allowed` : 'an update must use update operators; use replaceOne to replace a document')
    const fields = update[operator]
    if (!isPlainObject(fields)) refuse(`${operator} takes an object`)
    assertNoCode(fields)
    checkFieldNames(Object.keys(fields), scope, 'an update')
    if (operator === '$rename') checkFieldNames(Object.values(fields).map(String), scope, 'an update')
  }
  return update
}

/** A document to insert or a replacement: another tenant's id is refused, the tenant's own is stamped. */
export function scopeDocument<T extends Document>(document: T, scope: TenantField | null): T {
  if (!isPlainObject(document)) refuse('a document must be a plain object')
  for (const key in document) if (key.charCodeAt(0) === 36 /* $ */) refuse(`a document may not have the field ${key}`)
  if (!scope) return document
  const given = document[scope.field]
  if (given !== undefined && given !== scope.value) refuse(`a document may not name another tenant in ${scope.field}`)
  // A copy, so the caller's object is not changed; assigned rather than spread with a computed
  // key, which is several times slower on this hot path.
  const stamped: Document = Object.assign({}, document)
  stamped[scope.field] = scope.value
  return stamped as T
}

/** An aggregation pipeline of allowed stages (`$facet` checked inside), behind a `$match` on the tenant. */
export function scopePipeline(pipeline: Document[], scope: TenantField | null): Document[] {
  if (!Array.isArray(pipeline)) refuse('a pipeline must be an array of stages')
  checkStages(pipeline, 0)
  return scope ? [{ $match: { [scope.field]: scope.value } }, ...pipeline] : pipeline
}

function checkStages(pipeline: unknown[], depth: number): void {
  if (depth > 4) refuse('$facet is nested too deeply')
  for (const stage of pipeline) {
    const [name, ...rest] = isPlainObject(stage) ? Object.keys(stage) : []
    if (name === undefined || rest.length > 0) refuse('each pipeline stage has exactly one operator')
    if (!STAGES.has(name)) refuse(`the aggregation stage ${name} is not allowed: it could reach beyond the tenant's documents`)
    const body = (stage as Record<string, unknown>)[name]
    if (name === '$facet') {
      if (!isPlainObject(body)) refuse('$facet takes an object of pipelines')
      for (const inner of Object.values(body)) {
        if (!Array.isArray(inner)) refuse('$facet takes an object of pipelines')
        checkStages(inner, depth + 1)
      }
    } else assertNoCode(body)
  }
}
