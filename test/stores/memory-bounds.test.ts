import { randomBytes } from 'node:crypto'
import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { type Document, memoryStore, type MemoryStoreOptions } from 'tenantry'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

function heapAfterGc(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('the memory store under a refresh loop', () => {
  it('keeps its memory bounded over 100,000 refreshes of one session', async () => {
    const { records } = memoryStore()
    const now = Date.now()
    await records.sessions.insert({
      id: 'session-1',
      accountId: 'account-1',
      organizationId: 'org-1',
      membershipId: 'member-1',
      tokenVersion: 0,
      createdAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
    })
    let hash = randomBytes(32).toString('base64url')
    const refresh = async () => {
      await records.sessions.consumeRefreshToken(hash, new Date())
      hash = randomBytes(32).toString('base64url')
      await records.sessions.insertRefreshToken({
        hash,
        sessionId: 'session-1',
        createdAt: new Date(),
        expiresAt: new Date(now + 3_600_000),
        usedAt: null,
      })
    }
    const first = hash
    await records.sessions.insertRefreshToken({
      hash,
      sessionId: 'session-1',
      createdAt: new Date(now),
      expiresAt: new Date(now + 3_600_000),
      usedAt: null,
    })
    for (let i = 0; i < 20_000; i++) await refresh()
    const warm = heapAfterGc()
    for (let i = 0; i < 80_000; i++) await refresh()
    const grown = heapAfterGc() - warm
    // Kept, every used token would cost some 400 bytes: 80,000 of them, over 30 MB.
    expect(grown).toBeLessThan(5 * 1024 * 1024)
    // A recent used token is still recognised as a replay; the very first is long gone.
    expect(await records.sessions.consumeRefreshToken(first, new Date())).toBeNull()
    expect(await records.sessions.consumeRefreshToken(hash, new Date())).toMatchObject({ consumed: true })
  })
})

/** A tenant's notes collection on a memory store with these options, holding one note. */
async function notes(options: MemoryStoreOptions = {}) {
  const store = memoryStore({ collections: { notes: {} }, ...options })
  const org = { id: 'org-1', dataKey: 't_000000000000000000000001' }
  await store.data.provision(org as never)
  const collection = store.data.collection(org as never, 'notes')
  await collection.insertOne({ n: 1 })
  return collection
}

const project = (expression: unknown): Document[] => [{ $project: { _id: 0, s: expression } }]
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => ({ code: 'none' }),
    (err: { code?: string; constructor: { name: string } }) => ({ code: err.code, name: err.constructor.name }),
  )

describe('one operation’s budget on the memory store', () => {
  it('times an expression of a few long calls, which a clock read every 256 calls never saw', async () => {
    const collection = await notes()
    const range = { $range: [0, 200_000] }
    const started = performance.now()
    const outcome = await failure(
      collection
        .aggregate(project({ $add: Array.from({ length: 4 }, () => ({ $size: { $setUnion: [range, range] } })) }), {
          maxTimeMS: 100,
        })
        .toArray(),
    )
    expect(outcome).toEqual({ code: 'QUERY_TIMEOUT', name: 'QueryTimeoutError' })
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('refuses an operation past its maxAllocation, and the next operation has its own whole', async () => {
    const collection = await notes({ maxAllocation: 10_000 })
    expect(await failure(collection.aggregate(project({ $size: { $range: [0, 20_000] } })).toArray())).toEqual({
      code: 'QUERY_LIMIT',
      name: 'QueryLimitError',
    })
    expect(await collection.aggregate(project({ $size: { $range: [0, 9_000] } })).toArray()).toEqual([{ s: 9_000 }])
  })

  it('counts what an expression writes for every element a $map evaluates', async () => {
    const collection = await notes({ maxAllocation: 50_000 })
    const input = { $range: [0, 10_000] }
    expect(await collection.aggregate(project({ $size: { $map: { input, in: '$$this' } } })).toArray()).toEqual([
      { s: 10_000 },
    ])
    const objects = { $map: { input, in: { a: '$$this', b: '$$this', c: '$$this', d: '$$this' } } }
    expect(await failure(collection.aggregate(project({ $size: objects })).toArray())).toMatchObject({
      code: 'QUERY_LIMIT',
    })
  })

  it('counts every document a stage makes', async () => {
    const collection = await notes({ maxAllocation: 30_000 })
    const unwound = (n: number) => [{ $project: { r: { $range: [0, n] } } }, { $unwind: '$r' }, { $count: 'c' }]
    expect(await collection.aggregate(unwound(2_000)).toArray()).toEqual([{ c: 2_000 }])
    expect(await failure(collection.aggregate(unwound(20_000)).toArray())).toMatchObject({ code: 'QUERY_LIMIT' })
  })

  it('refuses the engine’s own operator names in a tenant’s query', async () => {
    const collection = await notes()
    for (const name of ['$__tenantryValue', '$__tenantryStep'])
      expect(await failure(collection.aggregate(project({ [name]: [1, 2] })).toArray())).toMatchObject({
        code: 'INVALID_QUERY',
      })
  })

  it('refuses a maxAllocation that is not a positive whole number, at once', () => {
    for (const maxAllocation of [0, -1, 1.5, Number.NaN, '1000'])
      expect(() => memoryStore({ maxAllocation: maxAllocation as number })).toThrow(TypeError)
  })
})
