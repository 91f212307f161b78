import type { Document, Filter, UpdateFilter } from './collection-types.js'
import { inspect, isPlainObject, refuse, touches } from './query-values.js'

/**
 * The rules that keep an operation inside one tenant's documents, by allow-list: what is not
 * listed here is refused with `TenantIsolationError`, never passed through.
 */
export interface TenantField {
  field: string
  value: string
}

/** How one handle's operations are confined. */
export interface Confinement {
  /** On `'shared'`: the tenant field and this tenant's id. The field is then tenantry's own, and `_id`s are generated. */
  tenant: TenantField | null
  /**
   * Whether the collection underneath holds other tenants' documents too (MongoDB `'shared'`),
   * so every filter and pipeline leads with the tenant's condition. An in-memory partition
   * holds the tenant's documents only.
   */
  mixed: boolean
  /** The name underneath of a declared collection a join names; `undefined` for any other name. */
  joinTarget(name: string): string | undefined
}

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$setOnInsert',
  '$push',
  '$pull',
  '$addToSet',
  '$pop',
  '$pullAll',
  '$currentDate',
  '$bit',
])
// Stages of a pipeline update that add or remove named fields, and so can be checked field by field.
const FIELD_STAGES = new Set(['$set', '$addFields', '$unset'])
const GENERATED_ID =
  'on the shared strategy tenantry generates every _id; keep a natural key in a field with a declared unique index'

/** The filter, confined to the tenant: the tenant's equality first, then the caller's conditions. */
export function scopeFilter(filter: Filter | undefined, confinement: Confinement): Filter {
  if (filter === undefined) filter = {}
  if (!isPlainObject(filter)) refuse('a filter must be an object')
  const { tenant } = confinement
  inspect(filter, { tenantField: tenant?.field })
  if (!tenant || !confinement.mixed) return filter
  // The tenant's condition is the first key, so the server tests it (and uses its index) before
  // anything the caller wrote; the filter cannot name the field itself (inspect refused that).
  return { [tenant.field]: tenant.value, ...filter }
}

/**
 * The filter of an upsert. On the shared strategy it may not name `_id`: the new document takes
 * its `_id` from the filter, and whether that fails would tell who else holds it.
 */
export function scopeUpsertFilter(filter: Filter | undefined, confinement: Confinement, upsert: unknown): Filter {
  if (confinement.tenant && upsert === true && namesField(filter, '_id', 0))
    refuse(`an upsert's filter may not name _id: ${GENERATED_ID}`)
  return scopeFilter(filter, confinement)
}

function namesField(value: unknown, field: string, depth: number): boolean {
  if (depth > 64) refuse('the query is nested too deeply')
  if (Array.isArray(value)) return value.some((item) => namesField(item, field, depth + 1))
  if (!isPlainObject(value)) return false
  return Object.entries(value).some(([key, item]) => touches(key, field) || namesField(item, field, depth + 1))
}

function checkFieldNames(paths: Iterable<string>, confinement: Confinement): void {
  const { tenant } = confinement
  if (!tenant) return
  for (const path of paths) {
    if (touches(path, tenant.field)) refuse(`an update may not change the tenant field ${tenant.field}`)
    if (touches(path, '_id')) refuse(`an update may not set _id: ${GENERATED_ID}`)
  }
}

/**
 * An update: operators from the allow-list whose paths (and `$rename` targets) leave the tenant
 * field and `_id` alone, or a pipeline of stages that name the fields they write (`$set`,
 * `$addFields`, `$unset`; on the shared strategy nothing that rewrites the whole document).
 */
export function scopeUpdate(update: UpdateFilter, confinement: Confinement): UpdateFilter {
  const tenantField = confinement.tenant?.field
  if (Array.isArray(update)) {
    if (update.length === 0) refuse('an update pipeline needs at least one stage')
    for (const stage of update) {
      const [name, ...rest] = isPlainObject(stage) ? Object.keys(stage) : []
      if (name === undefined || rest.length > 0) refuse('each stage of an update pipeline has exactly one operator')
      if (
        tenantField !== undefined
          ? !FIELD_STAGES.has(name)
          : !FIELD_STAGES.has(name) && name !== '$project' && name !== '$replaceWith' && name !== '$replaceRoot'
      ) {
        refuse(`an update pipeline may not use ${name}`)
      }
      const body = (stage as Record<string, unknown>)[name]
      const fields =
        name === '$unset'
          ? Array.isArray(body)
            ? body
            : [body]
          : isPlainObject(body)
            ? Object.keys(body)
            : refuse(`${name} takes an object`)
      if (fields.some((field) => typeof field !== 'string')) refuse('$unset takes field names')
      checkFieldNames(fields as string[], confinement)
      inspect(body, { tenantField, noRoot: tenantField !== undefined })
    }
    return update
  }
  if (!isPlainObject(update)) refuse('an update must be an object of update operators or a pipeline')
  const operators = Object.keys(update)
  if (operators.length === 0) refuse('an update needs at least one operator')
  for (const operator of operators) {
    if (!UPDATE_OPERATORS.has(operator))
      refuse(
        operator.startsWith('$')
          ? `the update operator ${operator} is not allowed`
          : 'an update must use update operators; use replaceOne to replace a document',
      )
    const fields = update[operator]
    if (!isPlainObject(fields)) refuse(`${operator} takes an object`)
    checkFieldNames(Object.keys(fields), confinement)
    if (operator === '$rename') checkFieldNames(Object.values(fields).map(String), confinement)
    inspect(fields, { tenantField })
  }
  return update
}

/**
 * A document to insert, or a replacement (`replacing`, not upserting). On the shared strategy
 * another tenant's id is refused, the field never stays as the caller gave it (a mixed
 * collection gets it stamped), and `_id` is tenantry's to generate except where a replacement
 * keeps the matched document's own.
 */
export function scopeDocument<T extends Document>(document: T, confinement: Confinement, replacing = false): T {
  if (!isPlainObject(document)) refuse('a document must be a plain object')
  for (const key in document) if (key.charCodeAt(0) === 36 /* $ */) refuse(`a document may not have the field ${key}`)
  const { tenant } = confinement
  if (!tenant) return document
  if (!replacing && document._id !== undefined) refuse(`a document may not bring its own _id: ${GENERATED_ID}`)
  const given = document[tenant.field]
  if (given !== undefined && given !== tenant.value) refuse(`a document may not name another tenant in ${tenant.field}`)
  // A copy, so the caller's object is not changed; assigned rather than spread with a computed
  // key, which is several times slower on this hot path.
  const scoped: Document = Object.assign({}, document)
  if (confinement.mixed) scoped[tenant.field] = tenant.value
  else if (given !== undefined) delete scoped[tenant.field]
  return scoped as T
}
