import { describe, expect, it } from 'vitest'
import { createTenancy, TenantIsolationError, type Tenant, type TenantCollection, type TenantStore } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

type Probe = (mine: TenantCollection, victimId: string, sharedCollection: string) => Promise<unknown>

// Stages that reach other data, each tried at the top level and inside $facet, aimed at the real
// shared collection's name, as an attacker who guessed it would.
const REFUSED_STAGES: ((collection: string) => Record<string, unknown>)[] = [
  (collection) => ({ $lookup: { from: collection, localField: 'text', foreignField: 'text', as: 'joined' } }),
  (collection) => ({ $lookup: { from: collection, pipeline: [], as: 'joined' } }),
  (collection) => ({ $graphLookup: { from: collection, startWith: '$text', connectFromField: 'text', connectToField: 'text', as: 'joined' } }),
  (collection) => ({ $unionWith: { coll: collection } }),
  (collection) => ({ $unionWith: collection }),
  (collection) => ({ $out: 'stolen' }),
  (collection) => ({ $merge: { into: collection } }),
  (collection) => ({ $collStats: { count: {} } }),
  (collection) => ({ $indexStats: {} }),
  (collection) => ({ $currentOp: {} }),
  (collection) => ({ $changeStream: {} }),
  (collection) => ({ $documents: [{ tenantId: 'x' }] }),
]

/** Every allowed operation with adversarial input, as an attacker controlling one tenant's code would try. */
function probes(): [string, Probe][] {
  const reads: [string, Probe][] = [
    ['find naming the victim', (c, v) => c.find({ tenantId: v }).toArray()],
    ['find with $or around the victim', (c, v) => c.find({ $or: [{ tenantId: v }, {}] }).toArray()],
    ['find with $nor', (c) => c.find({ $nor: [{ text: 'nothing' }] }).toArray()],
    ['find with $expr on the tenant field', (c, v) => c.find({ $expr: { $eq: ['$tenantId', v] } }).toArray()],
    ['find with $ne on the tenant field', (c) => c.find({ tenantId: { $ne: 'anyone' } }).toArray()],
    ['find with $in of both tenants', (c, v) => c.find({ tenantId: { $in: [v, 'x'] } }).toArray()],
    ['find with a dotted path to the tenant field', (c, v) => c.find({ 'tenantId.0': v[0] }).toArray()],
    ['find projecting the tenant field away', (c) => c.find({}, { projection: { tenantId: 0 } }).toArray()],
    ['find through chained cursor options', (c) => c.find({}).sort({ text: 1 }).skip(0).limit(100).project({ text: 1 }).toArray()],
    ['findOne naming the victim', (c, v) => c.findOne({ tenantId: v })],
    ['countDocuments naming the victim', (c, v) => c.countDocuments({ tenantId: v })],
    ['estimatedDocumentCount', (c) => c.estimatedDocumentCount()],
    ['distinct of a field', (c) => c.distinct('text')],
    ['distinct of the tenant field', (c) => c.distinct('tenantId')],
    ['distinct with a filter naming the victim', (c, v) => c.distinct('text', { tenantId: v })],
    ['aggregate matching the victim', (c, v) => c.aggregate([{ $match: { tenantId: v } }]).toArray()],
    ['aggregate grouping everything', (c) => c.aggregate([{ $group: { _id: '$tenantId', texts: { $push: '$text' } } }]).toArray()],
    ['aggregate with $replaceRoot', (c) => c.aggregate([{ $replaceRoot: { newRoot: { t: '$tenantId' } } }]).toArray()],
    ['find with $where', (c) => c.find({ $where: 'true' }).toArray()],
    ['find with $function', (c) => c.find({ $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } }).toArray()],
    ['find with an option it does not know', (c) => c.find({}, { hint: { _id: 1 } } as never).toArray()],
  ]
  const stages: [string, Probe][] = REFUSED_STAGES.flatMap((stage): [string, Probe][] => {
    // The whole stage names the test: $lookup and $unionWith each come in two forms.
    const name = JSON.stringify(stage('<shared>'))
    return [
      [`aggregate with ${name}`, (c, _v, shared) => c.aggregate([stage(shared)]).toArray()],
      [`aggregate with ${name} inside $facet`, (c, _v, shared) => c.aggregate([{ $facet: { inner: [{ $match: {} }, stage(shared)] } }]).toArray()],
    ]
  })
  const writes: [string, Probe][] = [
    ['insertOne carrying the victim’s id', (c, v) => c.insertOne({ tenantId: v, text: 'planted' })],
    ['insertMany with one document carrying the victim’s id', (c, v) => c.insertMany([{ text: 'fine' }, { tenantId: v, text: 'planted' }])],
    ['insertOne with an operator key', (c) => c.insertOne({ $set: { tenantId: 'x' } } as never)],
    ['updateOne naming the victim', (c, v) => c.updateOne({ tenantId: v }, { $set: { text: 'pwned' } })],
    ['updateMany with $or around the victim', (c, v) => c.updateMany({ $or: [{ tenantId: v }, { text: { $exists: true } }] }, { $set: { touched: true } })],
    ['updateMany setting the tenant field', (c, v) => c.updateMany({}, { $set: { tenantId: v } })],
    ['updateMany setting a path under the tenant field', (c) => c.updateMany({}, { $set: { 'tenantId.x': 1 } })],
    ['updateMany unsetting the tenant field', (c) => c.updateMany({}, { $unset: { tenantId: '' } })],
    ['updateMany renaming the tenant field away', (c) => c.updateMany({}, { $rename: { tenantId: 'was' } })],
    ['updateMany renaming a field onto the tenant field', (c) => c.updateMany({}, { $rename: { text: 'tenantId' } })],
    ['updateMany renaming a field holding the victim’s id onto the tenant field', async (c, v) => {
      await c.updateMany({}, { $set: { planted: v } })
      return c.updateMany({}, { $rename: { planted: 'tenantId' } })
    }],
    ['updateOne with $setOnInsert of the tenant field', (c, v) => c.updateOne({ text: 'new' }, { $setOnInsert: { tenantId: v } }, { upsert: true })],
    ['an upsert whose filter names the victim', (c, v) => c.updateOne({ tenantId: v, text: 'victim-a' }, { $set: { upserted: true } }, { upsert: true })],
    ['a pipeline update setting the tenant field', (c, v) => c.updateMany({}, [{ $set: { tenantId: v } }])],
    ['a pipeline update replacing the root', (c, v) => c.updateMany({}, [{ $replaceWith: { tenantId: v } }])],
    ['a pipeline update computing from the tenant field', (c) => c.updateMany({}, [{ $set: { copy: '$tenantId' } }])],
    ['an update with an unknown operator', (c) => c.updateMany({}, { $currentOp: {} } as never)],
    ['an update that is a replacement document', (c, v) => c.updateMany({}, { tenantId: v } as never)],
    ['replaceOne naming the victim', (c, v) => c.replaceOne({ tenantId: v }, { text: 'pwned' })],
    ['replaceOne with a replacement carrying the victim’s id', (c, v) => c.replaceOne({}, { tenantId: v, text: 'moved' })],
    ['replaceOne upserting a document for the victim', (c, v) => c.replaceOne({ tenantId: v }, { text: 'planted' }, { upsert: true })],
    ['deleteOne naming the victim', (c, v) => c.deleteOne({ tenantId: v })],
    ['deleteMany with $nor', (c) => c.deleteMany({ $nor: [{ text: 'nothing' }] })],
    ['findOneAndUpdate naming the victim', (c, v) => c.findOneAndUpdate({ tenantId: v }, { $set: { text: 'pwned' } }, { returnDocument: 'after' })],
    ['findOneAndUpdate upserting for the victim', (c, v) => c.findOneAndUpdate({ tenantId: v }, { $set: { text: 'x' } }, { upsert: true, returnDocument: 'after' })],
    ['findOneAndReplace carrying the victim’s id', (c, v) => c.findOneAndReplace({}, { tenantId: v, text: 'moved' })],
    ['findOneAndDelete naming the victim', (c, v) => c.findOneAndDelete({ tenantId: v })],
    ['bulkWrite mixing every kind', (c, v) =>
      c.bulkWrite([
        { updateMany: { filter: { tenantId: v }, update: { $set: { text: 'pwned' } } } },
        { replaceOne: { filter: { tenantId: v }, replacement: { text: 'pwned' }, upsert: true } },
        { deleteMany: { filter: { $or: [{ tenantId: v }, {}] } } },
        { updateOne: { filter: {}, update: { $set: { text: 'mine' } }, upsert: true } },
      ])],
    ['bulkWrite inserting for the victim', (c, v) => c.bulkWrite([{ insertOne: { document: { text: 'fine' } } }, { insertOne: { document: { tenantId: v, text: 'planted' } } }])],
    ['bulkWrite setting the tenant field', (c, v) => c.bulkWrite([{ updateMany: { filter: {}, update: { $set: { tenantId: v } } } }])],
    ['bulkWrite with an operation it does not know', (c) => c.bulkWrite([{ dropCollection: {} } as never])],
  ]
  return [...reads, ...stages, ...writes]
}

/**
 * The leak probe: two tenants on a shared strategy, each with documents in two collections; one
 * tries every allowed operation with adversarial input. After each, the other's documents are
 * unchanged byte for byte and nothing of them came back. Refusing (`TenantIsolationError`) is
 * always a correct answer; leaking never is.
 */
export function describeLeakProbe(name: string, createStore: () => { store: TenantStore; sharedCollection: string }): void {
  describe(`the shared strategy of the ${name} store, probed by an attacker`, () => {
    async function twoTenants() {
      const { store, sharedCollection } = createStore()
      const tenancy = createTenancy({ store, auth: TEST_AUTH })
      const tenants: Tenant[] = []
      for (const org of ['Mallory', 'Victim']) {
        const { organization } = await tenancy.orgs.create({ name: org, email: `admin@${org.toLowerCase()}.test`, password: PASSWORD })
        tenants.push(await tenancy.tenant({ id: organization.id }))
      }
      const [mallory, victim] = tenants as [Tenant, Tenant]
      for (const collection of ['notes', 'invoices'] as const) {
        await victim.collection(collection as 'notes').insertMany([{ text: 'victim-a', number: 1, secret: 'VICTIM-SECRET' }, { text: 'victim-b', number: 2, secret: 'VICTIM-SECRET' }])
        await mallory.collection(collection as 'notes').insertMany([{ text: 'mallory-a', number: 1 }, { text: 'mallory-b', number: 2 }])
      }
      const victimState = async () =>
        JSON.stringify(await Promise.all(['notes', 'invoices'].map((collection) => victim.collection(collection as 'notes').find({}, { sort: { text: 1 } }).toArray())))
      return { mallory, victim, victimState, sharedCollection }
    }

    for (const [label, probe] of probes()) {
      it(`keeps the other tenant whole and unseen: ${label}`, async () => {
        const { mallory, victim, victimState, sharedCollection } = await twoTenants()
        const before = await victimState()
        for (const collection of ['notes', 'invoices'] as const) {
          let answer: unknown
          try {
            answer = await probe(mallory.collection(collection as 'notes'), victim.id, sharedCollection)
          } catch (err) {
            // Refusing is fine, as long as it is the isolation error and not a crash.
            if (!(err instanceof TenantIsolationError)) throw err
          }
          const seen = JSON.stringify(answer ?? null)
          expect(seen).not.toContain('VICTIM-SECRET')
          expect(seen).not.toContain('victim-')
          expect(seen).not.toContain(victim.id)
        }
        expect(await victimState()).toBe(before)
      })
    }

    it('hands out no way to the collection underneath, the database or the client', async () => {
      const { mallory } = await twoTenants()
      const handle = mallory.collection('notes') as unknown as Record<string, unknown>
      for (const escape of ['db', 'client', 'target', 'collection', 'watch', 'drop', 'rename', 'createIndex', 'dropIndexes', 'indexes', 'initializeOrderedBulkOp']) expect(handle[escape], escape).toBeUndefined()
      const cursor = mallory.collection('notes').find({}) as unknown as Record<string, unknown>
      for (const escape of ['filter', 'addCursorFlag', 'addQueryModifier', 'comment', 'hint', 'batchSize']) expect(cursor[escape], escape).toBeUndefined()
    })

    it('stamps the tenant on every document it inserts, and keeps a unique index unique per tenant', async () => {
      const { mallory, victim } = await twoTenants()
      const invoices = (tenant: Tenant) => tenant.collection('invoices' as 'notes')
      await invoices(mallory).insertOne({ number: 7 })
      await invoices(victim).insertOne({ number: 7 })
      await expect(invoices(mallory).insertOne({ number: 7 })).rejects.toMatchObject({ code: expect.anything() })
      expect(await invoices(mallory).findOne({ number: 7 })).toMatchObject({ tenantId: mallory.id })
    })
  })
}
