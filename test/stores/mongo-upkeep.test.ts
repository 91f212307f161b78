import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient, ReadPreference } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { migrated, useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const uri = inject('mongoUri')

/** Runs `fn` with the server's idle-cursor timeout lowered; `false` when the user may not set it. */
async function withCursorTimeout(ms: number, fn: () => Promise<void>): Promise<boolean> {
  const admin = await MongoClient.connect(process.env.MONGODB_ADMIN_URI ?? uri)
  try {
    const previous = await admin
      .db('admin')
      .command({ getParameter: 1, cursorTimeoutMillis: 1 })
      .then(
        (answer) => answer.cursorTimeoutMillis as number,
        () => undefined,
      )
    if (previous === undefined) return false
    await admin.db('admin').command({ setParameter: 1, cursorTimeoutMillis: ms })
    try {
      await fn()
    } finally {
      await admin.db('admin').command({ setParameter: 1, cursorTimeoutMillis: previous })
    }
    return true
  } finally {
    await admin.close()
  }
}

describe.skipIf(!uri)('MongoDB upkeep walks on a real server', () => {
  const fresh = useMongoDatabases(uri)

  it('walks every organization while its caller outlives the server’s cursor timeout between two of them', async (context) => {
    const store = await migrated(mongoStore({ db: fresh().db }))
    const now = new Date()
    const ids = Array.from({ length: 600 }, (_, i) => `org_${String(i).padStart(4, '0')}`)
    for (const id of ids)
      await store.records.organizations.insert({
        id,
        name: id,
        nameKey: id,
        slug: id.replace('_', '-'),
        dataKey: `t_${id}`,
        ownerId: `m_${id}`,
        state: 'active',
        stateChangedAt: now,
        createdAt: now,
        updatedAt: now,
      })
    const seen: string[] = []
    // An idle cursor is reaped after cursorTimeoutMillis, checked every 4 s: 7 s of work is past both.
    const ran = await withCursorTimeout(2000, async () => {
      for await (const org of store.records.organizations.list()) {
        seen.push(org.id)
        if (seen.length === 1) await sleep(7000)
      }
    })
    if (!ran) return context.skip('this user may not set cursorTimeoutMillis')
    expect(seen).toEqual(ids)
  }, 60_000)
})

// Needs a replica set whose members carry tags (the replica-set job in CI); elsewhere it skips.
describe.skipIf(!uri)('MongoDB upkeep through a host Db that reads from a paused secondary', () => {
  const fresh = useMongoDatabases(uri)

  it('deletes a shared tenant’s documents without re-reading them from the secondary, and recover() sees no orphan', async (context) => {
    const admin = await MongoClient.connect(process.env.MONGODB_ADMIN_URI ?? uri)
    let paused: MongoClient | undefined
    try {
      const hello = await admin.db('admin').command({ hello: 1 })
      if (!hello.setName) return context.skip('not a replica set')
      const { config } = await admin.db('admin').command({ replSetGetConfig: 1 })
      const secondary = (config.members as { host: string; tags?: Record<string, string> }[]).find(
        (member) => member.host !== hello.primary && Object.keys(member.tags ?? {}).length > 0,
      )
      if (!secondary) return context.skip('no tagged secondary to read from')

      const database = fresh()
      // The host's Db prefers that one secondary; tenantry's upkeep reads must not follow it.
      const lagging = database.db.client.db(database.db.databaseName, {
        readPreference: new ReadPreference('secondary', [secondary.tags!]),
      })
      const tenancy = createTenancy({
        store: await migrated(mongoStore({ ...database, db: lagging, strategy: 'shared', collections: { notes: {} } })),
        auth: TEST_AUTH,
      })
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const acme = await tenancy.authenticate(
        (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
      )
      await acme.collection('notes').insertMany(Array.from({ length: 2500 }, (_, i) => ({ text: `note ${i}` })))

      // Once the secondary holds every note, its replication stops: it keeps them after the delete.
      paused = await MongoClient.connect(`mongodb://${secondary.host}/?directConnection=true`, {
        readPreference: 'secondaryPreferred',
      })
      const notes = paused.db(database.db.databaseName).collection(`${database.prefix}data_notes`)
      while ((await notes.countDocuments({ tenantId: acme.id })) < 2500) await sleep(100)
      const stopped = await paused
        .db('admin')
        .command({ configureFailPoint: 'stopReplProducer', mode: 'alwaysOn' })
        .then(
          () => true,
          () => false,
        )
      if (!stopped) return context.skip('the server was not started with enableTestCommands=1')

      // Reading its batches from the secondary, the delete would find the same ids for ever.
      const deleted = await Promise.race([
        tenancy.orgs.delete(acme, 'Acme').then(() => 'deleted'),
        sleep(30_000).then(() => 'still deleting after 30 s'),
      ])
      expect(deleted).toBe('deleted')
      const primary = admin.db(database.db.databaseName).collection(`${database.prefix}data_notes`)
      expect(await primary.countDocuments({ tenantId: acme.id })).toBe(0)
      expect(await notes.countDocuments({ tenantId: acme.id })).toBe(2500)
      expect(await tenancy.recover()).toMatchObject({ orphanDataSpacesDropped: 0 })
    } finally {
      await paused
        ?.db('admin')
        .command({ configureFailPoint: 'stopReplProducer', mode: 'off' })
        .catch(() => {})
      await paused?.close()
      await admin.close()
    }
  }, 90_000)
})

// Needs a replica set whose members carry tags (the replica-set job in CI); elsewhere it skips.
describe.skipIf(!uri)('the shared strategy’s index check through a host Db that reads from a lagging secondary', () => {
  const fresh = useMongoDatabases(uri)

  it('creates an organization once the primary has the indexes, whatever the secondary the host reads from lacks', async (context) => {
    const admin = await MongoClient.connect(process.env.MONGODB_ADMIN_URI ?? uri)
    let paused: MongoClient | undefined
    try {
      const hello = await admin.db('admin').command({ hello: 1 })
      if (!hello.setName) return context.skip('not a replica set')
      const { config } = await admin.db('admin').command({ replSetGetConfig: 1 })
      const secondary = (config.members as { host: string; tags?: Record<string, string> }[]).find(
        (member) => member.host !== hello.primary && Object.keys(member.tags ?? {}).length > 0,
      )
      if (!secondary) return context.skip('no tagged secondary to read from')
      const database = fresh()
      const lagging = database.db.client.db(database.db.databaseName, {
        readPreference: new ReadPreference('secondary', [secondary.tags!]),
      })
      const store = mongoStore({ ...database, db: lagging, strategy: 'shared', collections: { notes: {} } })
      await store.records.migrate?.()

      paused = await MongoClient.connect(`mongodb://${secondary.host}/?directConnection=true`, {
        readPreference: 'secondaryPreferred',
      })
      const stopped = await paused
        .db('admin')
        .command({ configureFailPoint: 'stopReplProducer', mode: 'alwaysOn' })
        .then(
          () => true,
          () => false,
        )
      if (!stopped) return context.skip('the server was not started with enableTestCommands=1')
      // The shared collection's index (sharedIndexes of no declared index), built on the primary and
      // the other secondary: the paused one never hears of it.
      await admin.db(database.db.databaseName).command({
        createIndexes: `${database.prefix}data_notes`,
        indexes: [{ key: { tenantId: 1 }, name: 'tenantId_1' }],
        commitQuorum: 'majority',
      })

      const tenancy = createTenancy({ store, auth: TEST_AUTH })
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const acme = await tenancy.authenticate(
        (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
      )
      await acme.collection('notes').insertOne({ text: 'written while the secondary lags' })
    } finally {
      await paused
        ?.db('admin')
        .command({ configureFailPoint: 'stopReplProducer', mode: 'off' })
        .catch(() => {})
      await paused?.close()
      await admin.close()
    }
  }, 90_000)
})

describe.skipIf(!uri)('MongoDB session clean-up at scale', () => {
  const fresh = useMongoDatabases(uri)

  it('deletes an organization’s 400,000 sessions and their refresh tokens, past what one $in of ids could hold', async () => {
    const { db, prefix } = fresh()
    const store = await migrated(mongoStore({ db, prefix }))
    const expiresAt = new Date(Date.now() + 3_600_000)
    const createdAt = new Date()
    const session = (i: number) => ({
      _id: `session_${String(i).padStart(7, '0')}_${'x'.repeat(20)}`,
      accountId: `account_${i % 1000}`,
      organizationId: i < 400_000 ? 'org_big' : 'org_other',
      membershipId: `member_${i % 1000}`,
      tokenVersion: 0,
      createdAt,
      expiresAt,
    })
    // Written directly, 10,000 at a time: 400,000 logins would take the job hours.
    const sessions = db.collection<{ _id: string }>(`${prefix}sessions`)
    const tokens = db.collection<{ _id: string }>(`${prefix}refresh_tokens`)
    for (let start = 0; start < 400_010; start += 10_000) {
      const batch = Array.from({ length: Math.min(10_000, 400_010 - start) }, (_, i) => session(start + i))
      await sessions.insertMany(batch, { ordered: false })
      await tokens.insertMany(
        batch.map((doc) => ({ _id: `hash_${doc._id}`, sessionId: doc._id, createdAt, expiresAt, usedAt: null })),
        { ordered: false },
      )
    }
    await store.records.sessions.delete({ organizationId: 'org_big' })
    expect(await sessions.countDocuments({ organizationId: 'org_big' })).toBe(0)
    expect(await sessions.countDocuments()).toBe(10)
    expect(await tokens.countDocuments()).toBe(10)
  }, 300_000)
})
