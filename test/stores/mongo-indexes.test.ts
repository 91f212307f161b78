import { type Document, MongoClient, MongoServerError } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { explainIndexConflict } from '../../src/stores/mongodb/mongo-indexes.js'
import { useMongoDatabases } from '../support/mongo-databases.js'

const uri = inject('mongoUri')

describe('an index tenantry needs that exists with other options', () => {
  it('is explained by name, with the command that drops it', () => {
    const conflict = new MongoServerError({
      ok: 0,
      code: 85,
      errmsg: 'An existing index has the same name as the requested index',
    })
    const explained = explainIndexConflict(conflict, 'tenantry_sessions', 'expiresAt_ttl') as Error
    expect(explained.message).toMatch(
      /index expiresAt_ttl on tenantry_sessions .*db\.tenantry_sessions\.dropIndex\("expiresAt_ttl"\).*tenancy\.migrate\(\)/,
    )
    expect(explained.cause).toBe(conflict)
    const other = new MongoServerError({ ok: 0, code: 11000, errmsg: 'duplicate key' })
    expect(explainIndexConflict(other, 'tenantry_sessions', 'expiresAt_ttl')).toBe(other)
  })
})

const organization = (id: string) => ({
  id,
  name: 'Acme',
  nameKey: 'acme',
  slug: 'acme',
  dataKey: `t_${id}`,
  ownerId: 'm1',
  state: 'active' as const,
  stateChangedAt: new Date(),
  createdAt: new Date(),
  updatedAt: new Date(),
})

describe.skipIf(!uri)('the indexes of the MongoDB store on a real server', () => {
  const fresh = useMongoDatabases(uri)
  // The restricted jobs' users hold readWrite, which has createIndex and dropIndex but not collMod.
  const mayCollMod = !process.env.MONGODB_ADMIN_URI

  it('refuses writes until migrate() has run, naming it, and builds no index on a request', async () => {
    const { db } = fresh()
    const store = mongoStore({ db })
    const error = await store.records.organizations.insert(organization('org_1')).catch((err: unknown) => err)
    expect(error).toMatchObject({ refused: true, message: expect.stringMatching(/tenancy\.migrate\(\)/) })
    expect(await db.collection('tenantry_organizations').countDocuments()).toBe(0)
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((info) => info.name)
    expect(names.filter((name) => name.startsWith('tenantry_'))).toEqual([])
    await store.records.migrate?.()
    await store.records.organizations.insert(organization('org_1'))
    expect(await store.records.organizations.find({ slug: 'acme' })).toMatchObject({ id: 'org_1' })
  })

  it(`changes a TTL an earlier version set in place${mayCollMod ? '' : ', or, without collMod, says how'}`, async () => {
    const { db } = fresh()
    const sessions = db.collection('tenantry_sessions')
    await sessions.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 60 })
    const store = mongoStore({ db })
    if (mayCollMod) {
      await store.records.migrate?.()
      const ttl = (await sessions.indexes()).find((index) => index.name === 'expiresAt_ttl')
      expect(ttl?.expireAfterSeconds).toBe(0)
    } else {
      await expect(store.records.migrate?.()).rejects.toThrow(
        /collMod needs the dbAdmin role.*dropIndex\("expiresAt_ttl"\)/,
      )
      await sessions.dropIndex('expiresAt_ttl')
      await store.records.migrate?.()
    }
    await store.records.organizations.insert(organization('org_1'))
  })

  it('stops migrate() at an index made with another partial filter, naming it, and leaves it as it was', async () => {
    const { db } = fresh()
    const organizations = db.collection('tenantry_organizations')
    await organizations.createIndex(
      { slug: 1 },
      { name: 'slug_unique', unique: true, partialFilterExpression: { slug: { $exists: true } } },
    )
    const store = mongoStore({ db })
    await expect(store.records.migrate?.()).rejects.toThrow(
      /slug_unique on tenantry_organizations .*dropIndex\("slug_unique"\)/,
    )
    const slug = (await organizations.indexes()).find((index) => index.name === 'slug_unique')
    expect(slug?.partialFilterExpression).toEqual({ slug: { $exists: true } })
    await organizations.dropIndex('slug_unique')
    await store.records.migrate?.()
    await store.records.organizations.insert(organization('org_1'))
  })

  it('finds an organization by slug and an account by email or subject through their indexes, never a collection scan', async () => {
    const { db } = fresh()
    // The filters the store sends, as the driver reports them, explained by this server's planner.
    const client = await MongoClient.connect(uri, { monitorCommands: true })
    try {
      const sent: Document[] = []
      client.on('commandStarted', (event) => {
        if (event.commandName === 'find') sent.push({ collection: event.command.find, filter: event.command.filter })
      })
      const store = mongoStore({ db: client.db(db.databaseName) })
      await store.records.migrate?.()
      const now = new Date()
      for (let i = 0; i < 50; i++) {
        await store.records.organizations.insert({
          ...organization(`org_${i}`),
          nameKey: `acme ${i}`,
          slug: `acme-${i}`,
        })
        const account = { passwordHash: null, tokenVersion: 0, createdAt: now, updatedAt: now }
        await store.records.accounts.insert({ ...account, id: `acc_${i}`, email: `a${i}@x.test`, subject: `sub-${i}` })
      }
      sent.length = 0
      expect(await store.records.organizations.find({ slug: 'acme-7' })).toMatchObject({ id: 'org_7' })
      expect(await store.records.accounts.find({ email: 'a7@x.test' })).toMatchObject({ id: 'acc_7' })
      expect(await store.records.accounts.find({ subject: 'sub-7' })).toMatchObject({ id: 'acc_7' })
      expect(sent).toHaveLength(3)
      for (const { collection, filter } of sent) {
        const plan = await db.collection(collection).find(filter).limit(1).explain('queryPlanner')
        expect(stages(plan), JSON.stringify(filter)).toContain('IXSCAN')
        expect(stages(plan), JSON.stringify(filter)).not.toContain('COLLSCAN')
      }
    } finally {
      await client.close()
    }
  })
})

/** Every `stage` named anywhere in an explain answer: 6.0's classic plans, 7.0's and 8.0's SBE ones alike. */
function stages(plan: unknown): string[] {
  if (Array.isArray(plan)) return plan.flatMap(stages)
  if (typeof plan !== 'object' || plan === null) return []
  return Object.entries(plan).flatMap(([key, value]) =>
    key === 'stage' && typeof value === 'string' ? [value] : stages(value),
  )
}
