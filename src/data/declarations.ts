import type { CollectionDeclarations, IndexSpec } from './collection-types.js'

// A name that is a valid MongoDB collection name on every strategy, and never a path or an operator.
const COLLECTION_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/

/**
 * Checks a store's `collections` declaration at start-up and answers it in a fixed shape.
 * Misuse is a `TypeError` naming what is wrong.
 */
export function parseDeclarations(collections: CollectionDeclarations | undefined): Map<string, IndexSpec[]> {
  const parsed = new Map<string, IndexSpec[]>()
  if (collections === undefined) return parsed
  if (typeof collections !== 'object' || collections === null || Array.isArray(collections))
    throw new TypeError('tenantry: collections must be an object such as { notes: {}, invoices: { indexes: [...] } }')
  for (const [name, declaration] of Object.entries(collections)) {
    if (!COLLECTION_NAME.test(name))
      throw new TypeError(
        `tenantry: collection name ${JSON.stringify(name)} must be a letter and up to 63 more of [A-Za-z0-9_]`,
      )
    if (typeof declaration !== 'object' || declaration === null)
      throw new TypeError(`tenantry: collections.${name} must be an object, {} or { indexes: [...] }`)
    const indexes = declaration.indexes ?? []
    if (!Array.isArray(indexes)) throw new TypeError(`tenantry: collections.${name}.indexes must be an array`)
    for (const index of indexes) {
      const fields = typeof index?.key === 'object' && index.key !== null ? Object.entries(index.key) : []
      if (
        fields.length === 0 ||
        !fields.every(
          ([field, direction]) => field !== '' && !field.startsWith('$') && (direction === 1 || direction === -1),
        )
      ) {
        throw new TypeError(`tenantry: every index of collections.${name} needs a key such as { createdAt: 1 }`)
      }
      if (index.unique !== undefined && typeof index.unique !== 'boolean')
        throw new TypeError(`tenantry: collections.${name}: unique must be a boolean`)
    }
    parsed.set(
      name,
      indexes.map((index) => ({ ...index, key: { ...index.key } })),
    )
  }
  return parsed
}

/** Checks the shared strategy's tenant field name. */
export function parseTenantField(tenantField: string | undefined): string {
  const field = tenantField ?? 'tenantId'
  if (typeof field !== 'string' || !FIELD_NAME.test(field) || field === '_id')
    throw new TypeError('tenantry: tenantField must be a top-level field name other than _id, such as "tenantId"')
  return field
}

/**
 * The indexes a collection gets on the shared strategy: each declared one led by the tenant
 * field (so a unique index is unique per tenant, and every tenant's queries use it), plus one on
 * the tenant field alone for the queries no declared index covers.
 */
export function sharedIndexes(indexes: readonly IndexSpec[], tenantField: string): IndexSpec[] {
  return [
    { key: { [tenantField]: 1 }, name: `${tenantField}_1` },
    ...indexes.map((index) => ({ ...index, key: { [tenantField]: 1 as const, ...index.key } })),
  ]
}
