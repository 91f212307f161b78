import { randomBytes } from 'node:crypto'
import { MongoClient, type Db } from 'mongodb'
import type { Store } from 'tenantry'
import { afterAll, afterEach, beforeAll } from 'vitest'

/**
 * For a describe block on a real server: connects once, hands each test databases under a
 * prefix of its own, and drops everything under those prefixes after each test. Cleaning up
 * needs dropDatabase, which the readWrite-only job's user lacks by design: that job gives a
 * privileged MONGODB_ADMIN_URI for it. With MONGODB_TEST_DATABASE set (the job whose user holds
 * readWrite on that one database), every test works in that database under its prefix instead,
 * and the clean-up drops its collections.
 */
export function useMongoDatabases(uri: string): () => { db: Db; prefix: string } {
  let client: MongoClient
  let admin: MongoClient
  const prefixes: string[] = []
  const single = process.env.MONGODB_TEST_DATABASE
  beforeAll(async () => {
    client = await MongoClient.connect(uri)
    admin = process.env.MONGODB_ADMIN_URI ? await MongoClient.connect(process.env.MONGODB_ADMIN_URI) : client
  })
  afterEach(async () => {
    if (single) {
      const names = await admin.db(single).listCollections({}, { nameOnly: true }).toArray()
      for (const { name } of names)
        if (prefixes.some((prefix) => name.startsWith(prefix))) await admin.db(single).dropCollection(name)
      prefixes.length = 0
      return
    }
    const { databases } = await admin.db().admin().listDatabases({ nameOnly: true })
    for (const { name } of databases)
      if (prefixes.some((prefix) => name.startsWith(prefix))) await admin.db(name).dropDatabase()
    prefixes.length = 0
  })
  afterAll(async () => {
    if (admin !== client) await admin?.close()
    await client?.close()
  })
  return () => {
    const prefix = `tt${randomBytes(4).toString('hex')}_`
    prefixes.push(prefix)
    return { db: client.db(single ?? `${prefix}master`), prefix }
  }
}

/** The store with its indexes built, as a deploy's `tenancy.migrate()` leaves it. */
export async function migrated(store: Store): Promise<Store> {
  await store.records.migrate?.()
  await store.data.migrate?.()
  return store
}

/**
 * On the sharded job (MONGODB_SHARDED set), shards the `'shared'` collections of `names` on
 * `key` before the store makes them, as an operator following docs/data-and-strategies.md would.
 */
export async function shardShared(
  { db, prefix }: { db: Db; prefix: string },
  names: readonly string[],
  key: Record<string, 1> = { tenantId: 1 },
): Promise<void> {
  if (!process.env.MONGODB_SHARDED) return
  await db.admin().command({ enableSharding: db.databaseName })
  for (const name of names)
    await db.admin().command({ shardCollection: `${db.databaseName}.${prefix}data_${name}`, key })
}
