import type { Collection, Document, IndexDescription } from 'mongodb'

/** What building and checking indexes uses of a collection, whatever its documents. */
type IndexedCollection = Pick<Collection, 'collectionName' | 'db' | 'createIndex' | 'createIndexes' | 'indexes'>

/** The indexes one collection needs. */
export type IndexPlan = [collection: IndexedCollection, indexes: IndexDescription[]]

const NAMESPACE_NOT_FOUND = 26
/** IndexOptionsConflict, IndexKeySpecsConflict: an index by that name or keys exists, made otherwise. */
const INDEX_CONFLICTS = new Set([85, 86])

/**
 * Builds every index of the plan, or leaves it as it is when it already exists. An index that
 * differs only in its TTL is changed in place (`collMod`); any other difference is an error that
 * names the index and the command that drops it. Run by `migrate()`, never by a request: a build
 * on a large collection, or one that cannot commit while a voting member is down, takes as long
 * as it takes.
 */
export async function buildIndexes(plan: IndexPlan[]): Promise<void> {
  // One command per collection, all at once; only a conflict is taken index by index.
  await Promise.all(
    plan.map(async ([collection, indexes]) => {
      const built = await collection.createIndexes(indexes).then(
        () => true,
        (err: unknown) => {
          if (!isConflict(err)) throw err
          return false
        },
      )
      if (built) return
      for (const { key, ...options } of indexes) {
        await collection.createIndex(key, options).catch(async (err: unknown) => {
          if (!isConflict(err)) throw err
          await changeTtl(collection, { key, ...options }, err)
        })
      }
    }),
  )
}

async function changeTtl(collection: IndexedCollection, wanted: IndexDescription, conflict: unknown): Promise<void> {
  const existing = (await collection.indexes()).find((index) => index.name === wanted.name)
  const onlyTtlDiffers =
    existing !== undefined &&
    wanted.expireAfterSeconds !== undefined &&
    existing.expireAfterSeconds !== undefined &&
    sameIndex(existing, wanted)
  if (!onlyTtlDiffers) throw explainIndexConflict(conflict, collection.collectionName, String(wanted.name))
  await collection.db
    .command({
      collMod: collection.collectionName,
      index: { name: wanted.name, expireAfterSeconds: wanted.expireAfterSeconds },
    })
    .catch((err: unknown) => {
      throw explainIndexConflict(conflict, collection.collectionName, String(wanted.name), err)
    })
}

/**
 * Throws unless every index of the plan exists (same keys, same uniqueness): what a write checks
 * once before relying on a unique index, so a deploy that skipped `migrate()` fails at once,
 * saying so, instead of quietly allowing two organizations one slug. Nothing is written.
 */
export function indexCheck(plan: IndexPlan[]): () => Promise<void> {
  let checked: Promise<void> | undefined
  const check = async () => {
    const missing: string[] = []
    await Promise.all(
      plan.map(async ([collection, indexes]) => {
        // From the primary, whatever the collection's Db prefers: a lagging secondary may not
        // have the indexes yet, and a create would be refused for it.
        const existing = await collection
          .indexes({ readPreference: 'primary' })
          .catch((err: unknown) =>
            (err as { code?: unknown }).code === NAMESPACE_NOT_FOUND ? [] : Promise.reject(err),
          )
        for (const index of indexes)
          if (!existing.some((made) => sameIndex(made, index)))
            missing.push(`${collection.collectionName}.${index.name ?? JSON.stringify(index.key)}`)
      }),
    )
    if (missing.length > 0)
      throw Object.assign(
        new Error(
          `tenantry: the MongoDB store's indexes are not built (${missing.sort().join(', ')}); run \`await tenancy.migrate()\` once per deploy, before the new version serves`,
        ),
        { refused: true },
      )
  }
  return () => {
    checked ??= check().catch((err: unknown) => {
      checked = undefined
      throw err
    })
    return checked
  }
}

function sameIndex(made: Document, wanted: IndexDescription): boolean {
  return (
    JSON.stringify(made.key) === JSON.stringify(wanted.key) &&
    Boolean(made.unique) === Boolean(wanted.unique) &&
    JSON.stringify(made.partialFilterExpression) === JSON.stringify(wanted.partialFilterExpression)
  )
}

function isConflict(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'number' && INDEX_CONFLICTS.has(code)
}

/**
 * What to do when an index tenantry needs exists with other options (a partial filter or keys an
 * earlier version or a person set): `migrate()` stops with this rather than guess which to keep.
 */
export function explainIndexConflict(err: unknown, collection: string, name: string, collModError?: unknown): unknown {
  if (!isConflict(err)) return err
  const couldNotChange =
    collModError === undefined
      ? ''
      : ` (changing its TTL in place failed: ${(collModError as Error).message}; collMod needs the dbAdmin role)`
  return new Error(
    `tenantry: the index ${name} on ${collection} exists with other options than tenantry's${couldNotChange}; drop it (db.${collection}.dropIndex(${JSON.stringify(name)})) and run tenancy.migrate() again. The server said: ${(err as Error).message}`,
    { cause: err },
  )
}
