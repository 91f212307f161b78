import { describe, expect, inject, it } from 'vitest'
import { createTenancy, memoryStore, TenantryError, type TenantCollection, type Store } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { migrated, shardShared, useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const uri = inject('mongoUri')
const collections = { items: { indexes: [{ key: { sku: 1 as const }, unique: true }] }, orders: {} }

type Step = (c: { items: TenantCollection; orders: TenantCollection }) => Promise<unknown>

// Each step's answer is compared; order matters only where the step sorts.
const STEPS: [string, Step][] = [
  [
    'find with comparison, $in, $exists and $type',
    ({ items }) =>
      items
        .find(
          { price: { $gte: 2 }, tags: { $in: ['red', 'blue'] }, sku: { $exists: true, $type: 'string' } },
          { sort: { sku: 1 } },
        )
        .toArray(),
  ],
  [
    'find with $regex and $elemMatch',
    ({ items }) =>
      items
        .find({ sku: { $regex: '^a', $options: 'i' }, sizes: { $elemMatch: { $gt: 2 } } }, { sort: { sku: 1 } })
        .toArray(),
  ],
  [
    'find projecting in and out',
    async ({ items }) => [
      await items.find({}, { sort: { sku: 1 }, projection: { _id: 0, sku: 1, 'meta.color': 1 } }).toArray(),
      await items.find({}, { sort: { sku: 1 }, projection: { _id: 0, meta: 0, tags: 0 } }).toArray(),
    ],
  ],
  [
    'find with sort, skip and limit',
    ({ items }) => items.find({}).sort({ price: -1, sku: 1 }).skip(1).limit(2).project({ _id: 0, sku: 1 }).toArray(),
  ],
  [
    'countDocuments and distinct',
    async ({ items }) => [await items.countDocuments({ price: { $lt: 3 } }), (await items.distinct('tags')).sort()],
  ],
  [
    'aggregate with $group, $unwind and $sortByCount',
    ({ items }) =>
      items.aggregate([{ $unwind: '$tags' }, { $sortByCount: '$tags' }, { $sort: { count: -1, _id: 1 } }]).toArray(),
  ],
  [
    'aggregate with $bucket and $facet',
    ({ items }) =>
      items
        .aggregate([
          {
            $facet: {
              cheap: [{ $match: { price: { $lt: 2 } } }, { $count: 'n' }],
              buckets: [{ $bucket: { groupBy: '$price', boundaries: [0, 2, 10], default: 'other' } }],
            },
          },
        ])
        .toArray(),
  ],
  [
    'a $lookup by equality',
    ({ orders }) =>
      orders
        .aggregate([
          { $lookup: { from: 'items', localField: 'sku', foreignField: 'sku', as: 'item' } },
          { $project: { _id: 0, sku: 1, price: { $first: '$item.price' } } },
          { $sort: { sku: 1 } },
        ])
        .toArray(),
  ],
  [
    'a $lookup with let and a pipeline',
    ({ orders }) =>
      orders
        .aggregate([
          {
            $lookup: {
              from: 'items',
              let: { s: '$sku' },
              pipeline: [{ $match: { $expr: { $eq: ['$sku', '$$s'] } } }, { $project: { _id: 0, price: 1 } }],
              as: 'item',
            },
          },
          { $project: { _id: 0, sku: 1, item: 1 } },
          { $sort: { sku: 1 } },
        ])
        .toArray(),
  ],
  [
    'a $unionWith and a $graphLookup',
    async ({ items, orders }) => [
      await orders
        .aggregate([
          { $project: { _id: 0, sku: 1 } },
          { $unionWith: { coll: 'items', pipeline: [{ $project: { _id: 0, sku: 1 } }] } },
          { $sort: { sku: 1 } },
        ])
        .toArray(),
      await items
        .aggregate([
          { $match: { sku: 'a1' } },
          {
            $graphLookup: {
              from: 'items',
              startWith: '$next',
              connectFromField: 'next',
              connectToField: 'sku',
              as: 'chain',
            },
          },
          { $project: { _id: 0, chain: { $size: '$chain' } } },
        ])
        .toArray(),
    ],
  ],
  [
    'updates with $set, $inc, $push, $addToSet, $pull and arrayFilters',
    async ({ items }) => [
      await items.updateMany({ price: { $lt: 3 } }, { $inc: { price: 1 }, $push: { tags: 'sale' } }),
      await items.updateOne({ sku: 'a1' }, { $addToSet: { tags: 'red' }, $pull: { sizes: { $gt: 3 } } }),
      await items.updateOne({ sku: 'b2' }, { $set: { 'sizes.$[big]': 0 } }, { arrayFilters: [{ big: { $gte: 3 } }] }),
      await items.find({}, { sort: { sku: 1 }, projection: { _id: 0 } }).toArray(),
    ],
  ],
  [
    'a pipeline update and an upsert',
    async ({ items }) => [
      await items.updateMany({}, [{ $set: { total: { $multiply: ['$price', 2] } } }]),
      await items
        .updateOne({ sku: 'z9' }, { $set: { price: 9 } }, { upsert: true })
        .then((result) => ({ ...result, upsertedId: result.upsertedId === null ? null : 'id' })),
      await items.findOneAndUpdate(
        { sku: 'z9' },
        { $inc: { price: 1 } },
        { returnDocument: 'after', projection: { _id: 0 } },
      ),
    ],
  ],
  ['deletes', async ({ items }) => [await items.deleteMany({ price: { $gt: 3 } }), await items.countDocuments()]],
  [
    'the errors a malformed query gets',
    async ({ items }) => {
      const code = (run: () => Promise<unknown>) =>
        run().then(
          () => 'none',
          (err: unknown) => (err instanceof TenantryError ? err.code : String(err)),
        )
      return [
        await code(() => items.insertOne({ sku: 'a1' })),
        await code(() => items.updateOne({ sku: 'a1' }, { $set: { price: 1, 'price.x': 2 } })),
        await code(() => items.updateOne({ sku: 'a1' }, { $inc: { sku: 1 } })),
        await code(() => items.find({ price: { $unknown: 1 } }).toArray()),
        await code(() => items.find({}).skip(-1).toArray()),
      ]
    },
  ],
  [
    'writes that fail part-way: what stays, what is reported',
    async ({ items }) => {
      // The error's code and how far the call got (a bulk write's counts and failures; none for updateMany).
      const outcome = (run: () => Promise<unknown>) =>
        run().then(
          () => 'none',
          (err: unknown) =>
            err instanceof TenantryError ? { code: err.code, writes: err.writes ?? null } : String(err),
        )
      return [
        // Ordered: the first stays, the third is never tried.
        await outcome(() => items.insertMany([{ sku: 'd4', price: 4 }, { sku: 'a1' }, { sku: 'e5' }])),
        await outcome(() =>
          items.bulkWrite([
            { insertOne: { document: { sku: 'f6' } } },
            { updateOne: { filter: { sku: 'a1' }, update: { $inc: { price: 1 } } } },
            { insertOne: { document: { sku: 'a1' } } },
            { insertOne: { document: { sku: 'g7' } } },
          ]),
        ),
        // Unordered: every write is tried; the server may run them in any order, and these answer alike in any.
        await outcome(() =>
          items.bulkWrite(
            [
              { insertOne: { document: { sku: 'a1' } } },
              { insertOne: { document: { sku: 'h8' } } },
              { updateOne: { filter: { sku: 'h8' }, update: { $inc: { sku: 1 } } } },
              { insertOne: { document: { sku: 'i9' } } },
            ],
            { ordered: false },
          ),
        ),
        // In index order (a1, then d4): a1 is changed, d4 would take the key a1 just took.
        await outcome(() => items.updateMany({ sku: { $in: ['a1', 'd4'] } }, { $set: { sku: 'dup' } })),
        await items.find({}, { sort: { sku: 1 }, projection: { _id: 0 } }).toArray(),
      ]
    },
  ],
]

const GENERATED_ID = /^([0-9a-f]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/** An answer with its keys in order and generated ids as one placeholder: ObjectIds there, UUIDs here. */
function canonical(answer: unknown): string {
  return JSON.stringify(answer ?? null, (_key, value: unknown) => {
    if (typeof value === 'string') return GENERATED_ID.test(value) ? '<id>' : value
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
  })
}

async function answers(store: Store): Promise<string[]> {
  const tenancy = createTenancy({ store, auth: TEST_AUTH })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const tenant = await tenancy.tenant({ id: organization.id })
  const items = tenant.collection('items' as 'notes') as TenantCollection
  const orders = tenant.collection('orders' as 'notes') as TenantCollection
  await items.insertMany([
    { sku: 'a1', price: 1, tags: ['red'], sizes: [1, 4], meta: { color: 'red', weight: 2 }, next: 'b2' },
    { sku: 'b2', price: 2.5, tags: ['blue', 'red'], sizes: [3, 5], meta: { color: 'blue' }, next: 'c3' },
    { sku: 'c3', price: 7, tags: [], sizes: [], meta: { color: 'green' } },
  ])
  await orders.insertMany([
    { sku: 'a1', qty: 2 },
    { sku: 'c3', qty: 1 },
    { sku: 'x0', qty: 5 },
  ])
  const seen: string[] = []
  for (const [, step] of STEPS) seen.push(canonical(await step({ items, orders })))
  return seen
}

describe.skipIf(!uri)('the same queries on the in-memory store and on MongoDB', () => {
  const fresh = useMongoDatabases(uri)
  for (const [memory, mongo] of [
    ['isolated', 'prefix'],
    ['shared', 'shared'],
  ] as const) {
    it(`answer alike: memory ${memory} and MongoDB ${mongo}`, async () => {
      const database = fresh()
      if (mongo === 'shared') await shardShared(database, Object.keys(collections))
      const expected = await answers(await migrated(mongoStore({ ...database, strategy: mongo, collections })))
      const actual = await answers(memoryStore({ strategy: memory, collections }))
      for (const [index, [label]] of STEPS.entries()) expect(actual[index], label).toBe(expected[index])
    })
  }
})
