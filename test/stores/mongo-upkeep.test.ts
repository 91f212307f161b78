import { setTimeout as sleep } from 'node:timers/promises'
import { MongoClient } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { migrated, useMongoDatabases } from '../support/mongo-databases.js'

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
