import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type TenantCollection, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { DuplicateKeyError, InvalidQueryError } = errors

const collections = { items: { indexes: [{ key: { sku: 1 as const }, unique: true }] } }

async function itemsOf(strategy: 'isolated' | 'shared'): Promise<TenantCollection> {
  const tenancy = createTenancy({ store: memoryStore({ strategy, collections }), auth: TEST_AUTH })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const items = (await tenancy.tenant({ id: organization.id })).collection('items' as 'notes') as TenantCollection
  await items.insertMany([{ sku: 'a1', qty: 1 }])
  return items
}

async function failure(operation: () => Promise<unknown>): Promise<errors.TenantryError> {
  return operation().then(
    () => expect.unreachable('the call should have failed'),
    (err: unknown) => err as errors.TenantryError,
  )
}

const skus = async (items: TenantCollection) =>
  (await items.find({}, { sort: { sku: 1 }, projection: { _id: 0, sku: 1 } }).toArray()).map((item) => item.sku)

const NONE = { matchedCount: 0, modifiedCount: 0, deletedCount: 0, upsertedCount: 0 }

// What MongoDB does with a batch that fails part-way; test/stores/same-answers.test.ts compares both on a server.
for (const strategy of ['isolated', 'shared'] as const) {
  describe(`a failing write of many documents on the memory store (${strategy}), as on MongoDB`, () => {
    it('keeps the documents an insertMany stored before the one that failed, tries none after it, and says how far it got', async () => {
      const items = await itemsOf(strategy)
      const err = await failure(() => items.insertMany([{ sku: 'b2' }, { sku: 'a1' }, { sku: 'c3' }]))
      expect(err).toBeInstanceOf(DuplicateKeyError)
      expect(err.writes).toEqual({ insertedCount: 1, ...NONE, failures: [{ index: 1, code: 'DUPLICATE_KEY' }] })
      expect(await skus(items)).toEqual(['a1', 'b2'])
    })

    it('keeps the documents an updateMany changed before the one it failed on, and leaves that one and the rest', async () => {
      const items = await itemsOf(strategy)
      await items.insertMany([
        { sku: 'b2', qty: 'two' },
        { sku: 'c3', qty: 3 },
      ])
      expect(await failure(() => items.updateMany({}, { $inc: { qty: 10 } }))).toBeInstanceOf(InvalidQueryError)
      expect(await items.find({}, { sort: { sku: 1 }, projection: { _id: 0 } }).toArray()).toEqual([
        { sku: 'a1', qty: 11 },
        { sku: 'b2', qty: 'two' },
        { sku: 'c3', qty: 3 },
      ])
    })

    it('stops an updateMany at the first document that would take a unique key, keeping the one before it', async () => {
      const items = await itemsOf(strategy)
      await items.insertMany([{ sku: 'b2' }, { sku: 'c3' }])
      expect(await failure(() => items.updateMany({}, { $set: { sku: 'same' } }))).toBeInstanceOf(DuplicateKeyError)
      expect(await skus(items)).toEqual(['b2', 'c3', 'same'])
    })

    it('stops an ordered bulkWrite at its first failure, keeping what ran before it and counting it', async () => {
      const items = await itemsOf(strategy)
      const err = await failure(() =>
        items.bulkWrite([
          { insertOne: { document: { sku: 'b2' } } },
          { updateOne: { filter: { sku: 'a1' }, update: { $set: { qty: 2 } } } },
          { insertOne: { document: { sku: 'a1' } } },
          { insertOne: { document: { sku: 'c3' } } },
        ]),
      )
      expect(err).toBeInstanceOf(DuplicateKeyError)
      expect(err.writes).toEqual({
        insertedCount: 1,
        matchedCount: 1,
        modifiedCount: 1,
        deletedCount: 0,
        upsertedCount: 0,
        failures: [{ index: 2, code: 'DUPLICATE_KEY' }],
      })
      expect(await skus(items)).toEqual(['a1', 'b2'])
    })

    it('carries an unordered bulkWrite past every failure and reports each of them', async () => {
      const items = await itemsOf(strategy)
      const err = await failure(() =>
        items.bulkWrite(
          [
            { insertOne: { document: { sku: 'a1' } } },
            { insertOne: { document: { sku: 'b2' } } },
            { updateOne: { filter: { sku: 'b2' }, update: { $inc: { sku: 1 } } } },
            { insertOne: { document: { sku: 'c3' } } },
          ],
          { ordered: false },
        ),
      )
      expect(err).toBeInstanceOf(DuplicateKeyError)
      expect(err.writes).toEqual({
        insertedCount: 2,
        ...NONE,
        failures: [
          { index: 0, code: 'DUPLICATE_KEY' },
          { index: 2, code: 'INVALID_QUERY' },
        ],
      })
      expect(await skus(items)).toEqual(['a1', 'b2', 'c3'])
    })
  })
}
