import { MongoClient, MongoServerError } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { mongoStore } from 'tenantry/mongodb'
import { markRefusal } from '../../src/stores/mongodb/mongo-write-errors.js'
import { useMongoDatabases } from '../support/mongo-databases.js'

const uri = inject('mongoUri')
const APP = 'tenantry-failpoints'

/** What the store made of an error: refused (the core may undo) or may-have-applied. */
const verdict = (err: unknown) => {
  try {
    markRefusal(err)
  } catch (marked) {
    return (marked as { refused?: boolean }).refused === true ? 'refused' : 'may have applied'
  }
}

describe('which MongoDB errors count as refused', () => {
  const server = (code: number, extra: Record<string, unknown> = {}) =>
    new MongoServerError({ ok: 0, code, errmsg: `code ${code}`, ...extra })

  it('counts only the codes that prove nothing ran as refused', () => {
    for (const code of [2, 9, 13, 121, 10107, 13435, 11602, 189])
      expect(verdict(server(code)), `${code}`).toBe('refused')
  })

  it('takes a duplicate key, an incomplete retry history, a time limit or any other code as may-have-applied', () => {
    // 11000 from a retry can be its own first attempt's _id; 217 and 262 are what a retry surfaces.
    for (const code of [11000, 217, 262, 50, 91, 6, 89, 12345])
      expect(verdict(server(code)), `${code}`).toBe('may have applied')
  })

  it('takes a write-concern error or a retryable label as may-have-applied, whatever the code', () => {
    expect(verdict(server(2, { writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } }))).toBe(
      'may have applied',
    )
    expect(verdict(server(10107, { errorLabels: ['RetryableWriteError'] }))).toBe('may have applied')
    expect(verdict(new Error('connection reset'))).toBe('may have applied')
  })
})

// configureFailPoint needs a server started with --setParameter enableTestCommands=1 (the
// replica-set job in CI); elsewhere this block skips, saying so.
describe.skipIf(!uri)('MongoDB failpoints: refused or may-have-applied, as the server answers', () => {
  const fresh = useMongoDatabases(uri)

  async function withFailpoint(data: Record<string, unknown>, times: number, run: () => Promise<unknown>) {
    const admin = await MongoClient.connect(uri)
    try {
      const enabled = await admin
        .db('admin')
        .command({ configureFailPoint: 'failCommand', mode: { times }, data: { appName: APP, ...data } })
        .then(
          () => true,
          () => false,
        )
      if (!enabled) return 'no failpoints'
      try {
        return await run().then(
          () => 'succeeded',
          (err: unknown) => ((err as { refused?: boolean }).refused === true ? 'refused' : 'may have applied'),
        )
      } finally {
        await admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' })
      }
    } finally {
      await admin.close()
    }
  }

  async function storeOnOwnClient() {
    const { db } = fresh()
    const client = await MongoClient.connect(uri, { appName: APP })
    const store = mongoStore({ db: client.db(db.databaseName) })
    await store.records.migrate?.()
    const org = {
      id: `org_${Date.now()}`,
      name: 'Acme',
      nameKey: 'acme',
      slug: 'acme',
      dataKey: `t_${Date.now().toString(16)}`,
      ownerId: 'm1',
      state: 'provisioning' as const,
      stateChangedAt: new Date(),
      createdAt: new Date(),
      updatedAt: new Date(),
    }
    await store.records.organizations.insert(org)
    return { store, org, close: () => client.close() }
  }

  const cases: [string, Record<string, unknown>, number, string][] = [
    [
      'an IncompleteTransactionHistory (217) answer',
      { failCommands: ['findAndModify'], errorCode: 217 },
      1,
      'may have applied',
    ],
    [
      'a ShutdownInProgress (91) labelled retryable, on the attempt and its retry',
      { failCommands: ['findAndModify'], errorCode: 91, errorLabels: ['RetryableWriteError'] },
      2,
      'may have applied',
    ],
    [
      'a write-concern error after the write',
      { failCommands: ['findAndModify'], writeConcernError: { code: 64, errmsg: 'waiting for replication timed out' } },
      1,
      'may have applied',
    ],
    ['a BadValue (2) answer', { failCommands: ['findAndModify'], errorCode: 2 }, 1, 'refused'],
  ]
  for (const [name, data, times, expected] of cases)
    it(`takes ${name} as ${expected}`, async (context) => {
      const { store, org, close } = await storeOnOwnClient()
      try {
        const outcome = await withFailpoint(data, times, () =>
          store.records.organizations.transition(org.id, { from: ['provisioning'], to: 'active' }),
        )
        if (outcome === 'no failpoints') return context.skip('the server was not started with enableTestCommands=1')
        expect(outcome).toBe(expected)
      } finally {
        await close()
      }
    })
})
