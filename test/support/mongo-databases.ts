import { randomBytes } from 'node:crypto'
import { MongoClient, type Db } from 'mongodb'
import { afterAll, afterEach, beforeAll } from 'vitest'

/**
 * For a describe block on a real server: connects once, hands each test databases under a
 * prefix of its own, and drops everything under those prefixes after each test.
 */
export function useMongoDatabases(uri: string): () => { db: Db; prefix: string } {
  let client: MongoClient
  const prefixes: string[] = []
  beforeAll(async () => {
    client = await MongoClient.connect(uri)
  })
  afterEach(async () => {
    const { databases } = await client.db().admin().listDatabases({ nameOnly: true })
    for (const { name } of databases) if (prefixes.some((prefix) => name.startsWith(prefix))) await client.db(name).dropDatabase()
    prefixes.length = 0
  })
  afterAll(async () => {
    await client?.close()
  })
  return () => {
    const prefix = `tt${randomBytes(4).toString('hex')}_`
    prefixes.push(prefix)
    return { db: client.db(`${prefix}master`), prefix }
  }
}
