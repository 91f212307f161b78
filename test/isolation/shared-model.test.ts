import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenant, type TenantCollection, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { InvalidQueryError, TenantIsolationError } = errors

type Row = { k: string; v: number }
type Op =
  | { kind: 'insert'; k: string; v: number }
  | { kind: 'set'; k: string; v: number }
  | { kind: 'delete'; k: string }
  | { kind: 'upsert'; k: string; v: number }
  | { kind: 'intrude'; how: 'insert' | 'update' | 'delete' | 'upsert' | 'bulk' }
  | { kind: 'oracle'; k: string }
  | { kind: 'join' }

const key = fc.constantFrom('a', 'b', 'c')
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), k: key, v: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('set' as const), k: key, v: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), k: key }),
  fc.record({ kind: fc.constant('upsert' as const), k: key, v: fc.integer({ min: 0, max: 9 }) }),
  fc.record({
    kind: fc.constant('intrude' as const),
    how: fc.constantFrom('insert', 'update', 'delete', 'upsert', 'bulk'),
  }),
  fc.record({ kind: fc.constant('oracle' as const), k: key }),
  fc.constant({ kind: 'join' as const }),
)

// Throws on a document whose k is the chosen key, and only there: an error oracle. What fails is the
// document's own k (never a number), not a constant a server could evaluate before reading anything.
const throwsOn = (k: string) => ({ $expr: { $cond: [{ $eq: ['$k', k] }, { $toInt: '$k' }, false] } })

/** What a read answers, by the model: the oracle fails only on the reader's own rows, a join pairs its own rows only. */
function readFromModel(rows: Row[], step: Op): unknown {
  if (step.kind === 'oracle') return rows.some((row) => row.k === step.k) ? 'INVALID_QUERY' : 0
  if (step.kind === 'join')
    return rows
      .map((row) => ({ k: row.k, same: rows.filter((other) => other.k === row.k).length }))
      .sort((a, b) => a.k.localeCompare(b.k) || a.same - b.same)
  return undefined
}

async function readFromStore(collection: TenantCollection, step: Op): Promise<unknown> {
  if (step.kind === 'oracle') {
    try {
      return await collection.countDocuments(throwsOn(step.k))
    } catch (err) {
      if (err instanceof InvalidQueryError) return err.code
      throw err
    }
  }
  if (step.kind === 'join') {
    const joined = await collection
      .aggregate<{ k: string; same: number }>([
        { $lookup: { from: 'notes', localField: 'k', foreignField: 'k', as: 'same' } },
        { $project: { _id: 0, k: 1, same: { $size: '$same' } } },
      ])
      .toArray()
    return joined.sort((a, b) => a.k.localeCompare(b.k) || a.same - b.same)
  }
  return undefined
}

/** What one tenant's own writes make of its collection: the model each tenant's view must equal. */
function applyToModel(rows: Row[], step: Op): Row[] {
  switch (step.kind) {
    case 'insert':
      return [...rows, { k: step.k, v: step.v }]
    case 'set':
      return rows.map((row) => (row.k === step.k ? { ...row, v: step.v } : row))
    case 'delete':
      return rows.filter((row) => row.k !== step.k)
    case 'upsert': {
      const first = rows.findIndex((row) => row.k === step.k)
      return first === -1
        ? [...rows, { k: step.k, v: step.v }]
        : rows.map((row, i) => (i === first ? { ...row, v: step.v } : row))
    }
    case 'intrude':
    case 'oracle':
    case 'join':
      return rows
  }
}

/** The same step through the tenant's real handle; intrusions aim at the other tenant and must change nothing. */
async function applyToStore(collection: TenantCollection, step: Op, otherId: string): Promise<void> {
  try {
    switch (step.kind) {
      case 'insert':
        return void (await collection.insertOne({ k: step.k, v: step.v }))
      case 'set':
        return void (await collection.updateMany({ k: step.k }, { $set: { v: step.v } }))
      case 'delete':
        return void (await collection.deleteMany({ k: step.k }))
      case 'upsert':
        return void (await collection.updateOne({ k: step.k }, { $set: { v: step.v } }, { upsert: true }))
      case 'intrude': {
        const actions = {
          insert: () => collection.insertOne({ k: 'a', v: 0, tenantId: otherId }),
          update: () => collection.updateMany({ tenantId: otherId }, { $set: { v: 99 } }),
          delete: () => collection.deleteMany({ $or: [{ tenantId: otherId }, { k: 'none' }] }),
          upsert: () => collection.updateOne({ tenantId: otherId, k: 'a' }, { $set: { v: 99 } }, { upsert: true }),
          bulk: () =>
            collection.bulkWrite([
              { updateMany: { filter: { tenantId: otherId }, update: { $set: { tenantId: 'nobody' } } } },
            ]),
        }
        await actions[step.how]()
        return
      }
      case 'oracle':
      case 'join':
        return
    }
  } catch (err) {
    if (!(step.kind === 'intrude' && err instanceof TenantIsolationError)) throw err
  }
}

async function view(collection: TenantCollection): Promise<Row[]> {
  return (await collection.find({}).toArray()).map((doc) => ({ k: String(doc.k), v: Number(doc.v) }))
}

describe('the shared strategy against a model', () => {
  it('gives each of two tenants exactly its own writes and reads, whatever the other holds or does, after every step', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), op), { maxLength: 40 }), async (steps) => {
        const tenancy = createTenancy({
          store: memoryStore({ strategy: 'shared', collections: { notes: {} } }),
          auth: { ...TEST_AUTH },
        })
        const tenants: Tenant[] = []
        for (const name of ['One', 'Two'])
          tenants.push(
            await tenancy.tenant({
              id: (await tenancy.orgs.create({ name, email: `${name}@x.test`, password: PASSWORD })).organization.id,
            }),
          )
        const models: [Row[], Row[]] = [[], []]
        for (const [second, step] of steps) {
          const actor = second ? 1 : 0
          const other = tenants[1 - actor]!
          await applyToStore(tenants[actor]!.collection('notes'), step, other.id)
          models[actor] = applyToModel(models[actor], step)
          expect(await readFromStore(tenants[actor]!.collection('notes'), step)).toEqual(
            readFromModel(models[actor], step),
          )
          for (const index of [0, 1]) {
            const actual = await view(tenants[index]!.collection('notes'))
            const sortRows = (rows: Row[]) => [...rows].sort((x, y) => x.k.localeCompare(y.k) || x.v - y.v)
            expect(sortRows(actual)).toEqual(sortRows(models[index]!))
          }
        }
      }),
      { numRuns: 60 },
    )
  })
})
