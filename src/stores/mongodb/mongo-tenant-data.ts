import type { Collection, CollectionOptions, Db, IndexDescription, MongoServerError } from 'mongodb'
import type { IndexSpec } from '../../data/collection-types.js'
import { sharedIndexes } from '../../data/declarations.js'
import { ScopedCollection, type DriverCollection } from '../../data/scoped-collection.js'
import type { TenantField } from '../../data/isolation-rules.js'
import { CapacityExceededError } from '../../errors.js'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { buildIndexes, indexCheck, type IndexPlan } from './mongo-indexes.js'
import { mongoQueryError } from './mongo-query-errors.js'

export type MongoStrategy = 'prefix' | 'database' | 'shared'

const NAMESPACE_EXISTS = 48
const NAMESPACE_NOT_FOUND = 26
// Databases do not exist while empty, so one marker collection makes a database-per-tenant
// space real (and listable) from the moment it is provisioned.
export const MARKER_COLLECTION = 'tenantry_space'
const DATA_KEY = 't_[0-9a-f]{24}'
// A shared collection loses a deleted tenant's documents this many at a time, so no single
// delete runs long enough to hold up everyone else's writes.
const DELETE_BATCH = 1000
// How long a dropped space's record is kept: a write through a handle resolved just before the
// delete can make the space again, and any recover() within this window sweeps it.
const TOMBSTONE_SECONDS = 7 * 24 * 3600

/** This store's record of a data space it provisioned: what it lists and sweeps, and nothing else. */
export interface DataSpaceDocument {
  _id: string
  organizationId: string
  provisionedAt?: Date
  droppedAt?: Date
}

type DataMethods = Omit<TenantDataProvider, 'collectionNames'>

export interface TenantDataOptions {
  db: Db
  /** The store's own record of the spaces it provisioned (`<prefix>spaces`). */
  spaces: Collection<DataSpaceDocument>
  prefix: string
  declared: Map<string, IndexSpec[]>
  tenantField: string
  maxNamespaces: number | undefined
  maxDatabases: number | undefined
  /**
   * How upkeep reads (a delete's batches, listings) read: as the records do, whatever the host's
   * Db prefers, since on a lagging secondary a delete loop would re-read ids it already deleted.
   */
  upkeep: Pick<CollectionOptions, 'readPreference' | 'readConcern'>
  /** How many organizations there are (any state): what a namespace budget is counted against. */
  countOrganizations(): Promise<number>
}

/**
 * Namespaces (collections + indexes) one tenant costs on `'prefix'` and `'database'`: each
 * declared collection, its `_id` index and its declared indexes, plus the marker collection of
 * a database-per-tenant space. What `maxNamespaces` is counted in.
 */
function namespacesPerTenant(strategy: MongoStrategy, declared: Map<string, IndexSpec[]>): number {
  if (strategy === 'shared') return 0
  let count = strategy === 'database' ? 2 : 0
  for (const indexes of declared.values()) count += 2 + indexes.length
  return count
}

/** The indexes of the data-space records: dropped ones expire after the tombstone window. */
const dataSpaceIndexes: IndexDescription[] = [
  { key: { droppedAt: 1 }, name: 'droppedAt_ttl', expireAfterSeconds: TOMBSTONE_SECONDS },
]

/**
 * Each strategy's tenant data, behind the one `ScopedCollection` every tenant handle goes
 * through. Every space is recorded in `spaces` before it is made and tombstoned after it is
 * dropped, so listing and sweeping never look past this store: `listDatabases` is cluster-wide,
 * and a staging app on the same cluster has databases named just like ours.
 */
export function mongoTenantData(strategy: MongoStrategy, options: TenantDataOptions): DataMethods {
  const methods = strategyData(strategy, options)
  const { spaces, maxNamespaces, maxDatabases } = options
  const perTenant = namespacesPerTenant(strategy, options.declared)
  // Before a create, counting it; and again when its space is first recorded, its own record
  // among the organizations counted: two creates racing for the last slot then see each other.
  const withinBudget = async (organizations: number) => {
    if (maxNamespaces !== undefined && perTenant > 0 && organizations * perTenant > maxNamespaces)
      throw new CapacityExceededError(
        `another organization needs ${perTenant} more namespaces, past the budget of ${maxNamespaces}`,
      )
    if (maxDatabases !== undefined && organizations > maxDatabases)
      throw new CapacityExceededError(
        `another organization needs a database of its own, past maxDatabases (${maxDatabases})`,
      )
  }
  const budgeted = maxDatabases !== undefined || (maxNamespaces !== undefined && perTenant > 0)
  const assertCapacity = async () => {
    if (budgeted) await withinBudget((await options.countOrganizations()) + 1)
  }
  const assertCounted = async () => {
    if (budgeted) await withinBudget(await options.countOrganizations())
  }

  const keyOf = (org: { id: string; dataKey: string }) => (strategy === 'shared' ? org.id : org.dataKey)
  return {
    ...methods,
    async migrate() {
      await buildIndexes([[spaces, dataSpaceIndexes]])
      await methods.migrate?.()
    },
    assertCapacity,
    async provision(org) {
      const { upsertedCount } = await spaces.updateOne(
        { _id: keyOf(org) },
        { $setOnInsert: { organizationId: org.id }, $currentDate: { provisionedAt: true }, $unset: { droppedAt: '' } },
        { upsert: true },
      )
      // A new space (not a migration's re-provisioning of one that exists) must fit the budget.
      if (upsertedCount === 1) await assertCounted()
      await methods.provision(org)
    },
    async drop(org) {
      await methods.drop(org)
      await spaces.updateOne(
        { _id: keyOf(org) },
        { $setOnInsert: { organizationId: org.id }, $currentDate: { droppedAt: true } },
        { upsert: true },
      )
    },
    async listKeys() {
      const records = await spaces.find({}, { projection: { droppedAt: 1 } }).toArray()
      const live = records.filter((record) => record.droppedAt === undefined).map((record) => record._id)
      const dropped = new Set(records.filter((record) => record.droppedAt !== undefined).map((record) => record._id))
      // A dropped space counts again only if a late write made it again.
      const revived = dropped.size === 0 ? [] : (await methods.listKeys([...dropped])).filter((key) => dropped.has(key))
      return [...live, ...revived]
    },
  }
}

/** A strategy's own data methods; `listKeys` may be asked about some keys only. */
type StrategyData = DataMethods & { listKeys(among?: string[]): Promise<string[]> }

const KEYS_PER_MATCH = 1000

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))
}

function strategyData(strategy: MongoStrategy, options: TenantDataOptions): StrategyData {
  const { db, prefix, declared, tenantField, upkeep } = options
  const driver = (target: Db, name: string) => target.collection(name) as unknown as DriverCollection
  // A join may name any declared collection, and reaches the same tenant's.
  const handle = (target: Db, name: string, physical: (declaredName: string) => string, tenant: TenantField | null) =>
    new ScopedCollection(driver(target, physical(name)), name, {
      tenant,
      mixed: tenant !== null,
      joinTarget: (joined) => (declared.has(joined) ? physical(joined) : undefined),
      translateError: mongoQueryError,
    })
  if (strategy === 'shared') {
    const sharedName = (name: string) => `${prefix}data_${name}`
    // One set of collections for every tenant, built at deploy: a new index on a populated
    // collection is a long build, and no organization create should wait on it.
    const sharedIndexPlan: IndexPlan[] = [...declared].map(([name, indexes]) => [
      db.collection(sharedName(name)),
      sharedIndexes(indexes, tenantField) as IndexDescription[],
    ])
    const indexesBuilt = indexCheck(sharedIndexPlan)
    return {
      async migrate() {
        for (const name of declared.keys())
          await db.createCollection(sharedName(name)).catch(ignoreCode(NAMESPACE_EXISTS))
        await buildIndexes(sharedIndexPlan)
      },
      provision: indexesBuilt,
      async drop(org) {
        for (const name of declared.keys()) {
          const collection = db.collection(sharedName(name), upkeep)
          for (;;) {
            const batch = await collection
              .find({ [tenantField]: org.id }, { projection: { _id: 1 }, limit: DELETE_BATCH })
              .toArray()
            if (batch.length === 0) break
            // Acknowledged once the majority has it: the next batch is read at majority, and would
            // otherwise find the same ids again until the secondaries caught up.
            await collection.deleteMany(
              { [tenantField]: org.id, _id: { $in: batch.map((doc) => doc._id) } },
              { writeConcern: { w: 'majority' } },
            )
          }
        }
      },
      async listKeys(among?: string[]) {
        const keys = new Set<string>()
        // Given keys (the tombstoned ones), only their documents are grouped, through the tenant index.
        const batches = among === undefined ? [undefined] : chunks(among, KEYS_PER_MATCH)
        for (const name of declared.keys()) {
          for (const batch of batches) {
            const match = batch === undefined ? [] : [{ $match: { [tenantField]: { $in: batch } } }]
            // A cursor, not distinct(): distinct answers in one document, capped at 16 MB of ids.
            for await (const group of db
              .collection(sharedName(name), upkeep)
              .aggregate<{ _id: unknown }>([...match, { $group: { _id: `$${tenantField}` } }]))
              keys.add(String(group._id))
          }
        }
        return [...keys]
      },
      collection: (org, name) => handle(db, name, sharedName, { field: tenantField, value: org.id }),
    }
  }

  if (strategy === 'database') {
    const databaseName = (dataKey: string) => `${prefix}${dataKey}`
    return {
      async provision(org) {
        const tenantDb = db.client.db(databaseName(org.dataKey))
        await createCollection(tenantDb, MARKER_COLLECTION, [])
        for (const [name, indexes] of declared) await createCollection(tenantDb, name, indexes)
      },
      async drop({ dataKey }) {
        // Collection by collection: dropDatabase is not in the readWrite role, dropCollection is.
        // The database is gone once its last collection is.
        await dropCollections(db.client.db(databaseName(dataKey)), {})
      },
      async listKeys() {
        const pattern = new RegExp(`^${prefix}(${DATA_KEY})$`)
        // Without the cluster-wide listDatabases privilege, the server answers with the databases this user may use.
        const { databases } = await db.admin().listDatabases({
          nameOnly: true,
          authorizedDatabases: true,
          filter: { name: { $regex: pattern.source } },
          readPreference: 'primary',
        })
        return databases.flatMap((info) => pattern.exec(info.name)?.[1] ?? [])
      },
      collection: (org, name) =>
        handle(db.client.db(databaseName(org.dataKey)), name, (declaredName) => declaredName, null),
    }
  }

  // 'prefix': `<prefix>t_<key>_<name>` in the host's database.
  const collectionName = (dataKey: string, name: string) => `${prefix}${dataKey}_${name}`
  return {
    async provision(org) {
      for (const [name, indexes] of declared) await createCollection(db, collectionName(org.dataKey, name), indexes)
    },
    async drop({ dataKey }) {
      // Every collection of the space, also those of names no longer declared.
      await dropCollections(db, { name: { $regex: `^${prefix}${dataKey}_` } })
    },
    async listKeys() {
      const pattern = new RegExp(`^${prefix}(${DATA_KEY})_`)
      const names = await db
        .listCollections({ name: { $regex: pattern.source } }, { nameOnly: true, readPreference: 'primary' })
        .toArray()
      return [...new Set(names.flatMap((info) => pattern.exec(info.name)?.[1] ?? []))]
    },
    collection: (org, name) => handle(db, name, (declaredName) => collectionName(org.dataKey, declaredName), null),
  }
}

async function dropCollections(target: Db, filter: Record<string, unknown>): Promise<void> {
  const names = await target.listCollections(filter, { nameOnly: true, readPreference: 'primary' }).toArray()
  for (const { name } of names) {
    if (name.startsWith('system.')) continue
    await target.collection(name).drop().catch(ignoreCode(NAMESPACE_NOT_FOUND))
  }
}

async function createCollection(target: Db, name: string, indexes: IndexSpec[]): Promise<void> {
  await target.createCollection(name).catch(ignoreCode(NAMESPACE_EXISTS))
  if (indexes.length > 0) await target.collection(name).createIndexes(indexes as IndexDescription[])
}

function ignoreCode(code: number) {
  return (err: unknown) => {
    if ((err as Partial<MongoServerError> | null)?.code !== code) throw err
  }
}
