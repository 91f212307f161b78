import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type TenantCollection } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

type Read = (notes: TenantCollection) => Promise<unknown>

// Each read that once changed what was stored, or could: projections that drop nested fields,
// stages that write into the documents they are handed, joins that embed other documents.
const READS: [string, Read][] = [
  ['find excluding a nested field', (notes) => notes.find({}, { projection: { 'meta.signed': 0 } }).toArray()],
  ['find including a nested field', (notes) => notes.find({}, { projection: { 'meta.signed': 1 } }).toArray()],
  ['find slicing an array', (notes) => notes.find({}, { projection: { tags: { $slice: 1 } } }).toArray()],
  [
    'find slicing an array from an offset',
    (notes) => notes.find({}, { projection: { tags: { $slice: [1, 1] } } }).toArray(),
  ],
  ['findOne excluding a nested field', (notes) => notes.findOne({ text: 'a' }, { projection: { 'meta.signed': 0 } })],
  [
    'a cursor stepped through with a projection',
    async (notes) => {
      const cursor = notes.find({}).project({ 'meta.signed': 0 })
      while (await cursor.hasNext()) await cursor.next()
    },
  ],
  [
    'countDocuments and distinct',
    async (notes) => [await notes.countDocuments({ 'meta.signed': true }), await notes.distinct('meta.signed')],
  ],
  [
    '$unwind with includeArrayIndex',
    (notes) => notes.aggregate([{ $unwind: { path: '$tags', includeArrayIndex: 'tenantIndex' } }]).toArray(),
  ],
  [
    '$unwind onto an existing field',
    (notes) => notes.aggregate([{ $unwind: { path: '$tags', includeArrayIndex: 'text' } }]).toArray(),
  ],
  ['$project excluding a nested field', (notes) => notes.aggregate([{ $project: { 'meta.signed': 0 } }]).toArray()],
  ['$set of a nested field', (notes) => notes.aggregate([{ $set: { 'meta.signed': 'changed' } }]).toArray()],
  ['$addFields replacing an array', (notes) => notes.aggregate([{ $addFields: { tags: ['replaced'] } }]).toArray()],
  ['$unset of a nested field', (notes) => notes.aggregate([{ $unset: 'meta.signed' }]).toArray()],
  [
    '$replaceRoot with a nested document',
    (notes) => notes.aggregate([{ $replaceRoot: { newRoot: '$meta' } }, { $set: { signed: 'changed' } }]).toArray(),
  ],
  [
    '$group of $$ROOT then a change to it',
    (notes) =>
      notes
        .aggregate([
          { $group: { _id: null, all: { $push: '$$ROOT' } } },
          { $unwind: '$all' },
          { $set: { 'all.meta.signed': 'changed' } },
        ])
        .toArray(),
  ],
  [
    '$facet with stages that change documents',
    (notes) =>
      notes
        .aggregate([{ $facet: { changed: [{ $set: { 'meta.signed': 'changed' } }, { $unset: 'tags' }] } }])
        .toArray(),
  ],
  [
    '$lookup then a change to the joined documents',
    (notes) =>
      notes
        .aggregate([
          { $lookup: { from: 'notes', pipeline: [], as: 'joined' } },
          { $unwind: '$joined' },
          { $set: { 'joined.meta.signed': 'changed' } },
        ])
        .toArray(),
  ],
  [
    '$unionWith then a change',
    (notes) => notes.aggregate([{ $unionWith: 'notes' }, { $set: { 'meta.signed': 'changed' } }]).toArray(),
  ],
  [
    '$graphLookup then a change',
    (notes) =>
      notes
        .aggregate([
          {
            $graphLookup: {
              from: 'notes',
              startWith: '$text',
              connectFromField: 'text',
              connectToField: 'text',
              as: 'joined',
            },
          },
          { $unwind: '$joined' },
          { $set: { 'joined.tags': [] } },
        ])
        .toArray(),
  ],
  [
    '$setWindowFields and $fill',
    (notes) =>
      notes
        .aggregate([
          { $setWindowFields: { sortBy: { n: 1 }, output: { total: { $sum: '$n' } } } },
          { $fill: { output: { missing: { value: 0 } } } },
        ])
        .toArray(),
  ],
  [
    'a caller changing the documents it was given',
    async (notes) => {
      for (const document of [
        ...(await notes.find({}).toArray()),
        await notes.findOne({}),
        ...(await notes.aggregate([]).toArray()),
      ]) {
        const meta = document!.meta as Record<string, unknown>
        meta.signed = 'changed by the caller'
        ;(document!.tags as unknown[]).push('pushed by the caller')
      }
    },
  ],
]

for (const strategy of ['isolated', 'shared'] as const) {
  describe(`reads on the ${strategy} memory strategy`, () => {
    async function seeded() {
      const tenancy = createTenancy({ store: memoryStore({ strategy, collections: { notes: {} } }), auth: TEST_AUTH })
      const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const notes = (await tenancy.tenant({ id: organization.id })).collection('notes')
      await notes.insertMany([
        { text: 'a', n: 1, meta: { signed: true, by: 'ann' }, tags: ['x', 'y'] },
        { text: 'b', n: 2, meta: { signed: false, by: 'bob' }, tags: ['z'] },
      ])
      const stored = async () => JSON.stringify(await notes.find({}, { sort: { text: 1 } }).toArray())
      return { notes, stored }
    }

    for (const [label, read] of READS) {
      it(`changes nothing stored: ${label}`, async () => {
        const { notes, stored } = await seeded()
        const before = await stored()
        await read(notes)
        expect(await stored()).toBe(before)
      })
    }
  })
}
