import { describe, expect, it } from 'vitest'
import { errors } from 'tenantry'
// The engine under every memory store; not part of the public surface.
import { MemoryCollection } from '../../src/stores/memory/memory-collection.js'

// The error classes a test names, from the namespace a host uses.
const { DuplicateKeyError } = errors

async function seeded() {
  const notes = new MemoryCollection()
  await notes.insertMany([
    { _id: 1, text: 'alpha', tags: ['a'], n: 3 },
    { _id: 2, text: 'beta', tags: ['b'], n: 1 },
    { _id: 3, text: 'gamma', tags: ['a', 'b'], n: 2 },
  ])
  return notes
}

describe('MemoryCollection', () => {
  it('finds with MongoDB filters, sort, skip, limit and projection', async () => {
    const notes = await seeded()
    expect(await notes.find({ tags: 'a' }, { sort: { n: 1 } }).toArray()).toEqual([
      { _id: 3, text: 'gamma', tags: ['a', 'b'], n: 2 },
      { _id: 1, text: 'alpha', tags: ['a'], n: 3 },
    ])
    expect(
      await notes.find({ n: { $gte: 2 } }, { sort: { n: -1 }, skip: 1, limit: 1, projection: { text: 1 } }).toArray(),
    ).toEqual([{ _id: 3, text: 'gamma' }])
    expect(await notes.findOne({ text: { $regex: '^be' } })).toMatchObject({ _id: 2 })
    expect(await notes.findOne({ text: 'missing' })).toBeNull()
    expect(await notes.countDocuments({ tags: { $all: ['a', 'b'] } })).toBe(1)
  })

  it('iterates a find with for await', async () => {
    const texts: unknown[] = []
    for await (const doc of (await seeded()).find({}, { sort: { _id: 1 } })) texts.push(doc.text)
    expect(texts).toEqual(['alpha', 'beta', 'gamma'])
  })

  it('adds an _id on insert and refuses a duplicate one, keeping the batch before it as MongoDB does', async () => {
    const notes = await seeded()
    const { insertedId } = await notes.insertOne({ text: 'delta' })
    expect(typeof insertedId).toBe('string')
    await expect(
      notes.insertMany([
        { _id: 'new', text: 'x' },
        { _id: 1, text: 'dup' },
      ]),
    ).rejects.toBeInstanceOf(DuplicateKeyError)
    expect(await notes.countDocuments()).toBe(5)
  })

  it('updates one or many with update operators', async () => {
    const notes = await seeded()
    expect(await notes.updateOne({ tags: 'a' }, { $inc: { n: 10 } })).toEqual({
      acknowledged: true,
      matchedCount: 1,
      modifiedCount: 1,
      upsertedCount: 0,
      upsertedId: null,
    })
    expect(await notes.updateMany({ tags: 'b' }, { $set: { seen: true } })).toEqual({
      acknowledged: true,
      matchedCount: 2,
      modifiedCount: 2,
      upsertedCount: 0,
      upsertedId: null,
    })
    expect(await notes.find({ seen: true }, { sort: { _id: 1 } }).toArray()).toHaveLength(2)
    expect(await notes.findOne({ _id: 1 })).toMatchObject({ n: 13 })
  })

  it('refuses to change an _id and leaves the document as it was', async () => {
    const notes = await seeded()
    await expect(notes.updateOne({ _id: 1 }, { $set: { _id: 99, text: 'changed' } })).rejects.toThrow()
    expect(await notes.findOne({ _id: 1 })).toMatchObject({ text: 'alpha' })
  })

  it('deletes one or many', async () => {
    const notes = await seeded()
    expect(await notes.deleteOne({ tags: 'a' })).toEqual({ acknowledged: true, deletedCount: 1 })
    expect(await notes.deleteMany({ n: { $lt: 3 } })).toEqual({ acknowledged: true, deletedCount: 2 })
    expect(await notes.countDocuments()).toBe(0)
  })

  it('copies documents in and out, so no caller holds a reference into the stored data', async () => {
    const notes = new MemoryCollection()
    const original = { _id: 'x', nested: { value: 1 } }
    await notes.insertOne(original)
    original.nested.value = 2
    const found = (await notes.findOne({ _id: 'x' }))!
    ;(found.nested as { value: number }).value = 3
    expect(await notes.findOne({ _id: 'x' })).toEqual({ _id: 'x', nested: { value: 1 } })
  })

  it('refuses filters that would run code', async () => {
    const notes = await seeded()
    await expect(notes.find({ $where: 'this.n > 1' }).toArray()).rejects.toThrow()
    await expect(
      notes.find({ $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } }).toArray(),
    ).rejects.toThrow()
  })

  it('answers insertMany with the driver’s insertedIds, by position', async () => {
    const notes = new MemoryCollection()
    expect(await notes.insertMany([{ _id: 'a' }, { _id: 'b' }])).toEqual({
      acknowledged: true,
      insertedCount: 2,
      insertedIds: { 0: 'a', 1: 'b' },
    })
  })

  it('upserts from the filter’s equality conditions, with $setOnInsert only on insert', async () => {
    const notes = await seeded()
    const inserted = await notes.updateOne(
      { text: 'delta', $and: [{ kind: 'x' }] },
      { $set: { n: 4 }, $setOnInsert: { created: true } },
      { upsert: true },
    )
    expect(inserted).toMatchObject({ matchedCount: 0, upsertedCount: 1, upsertedId: expect.any(String) })
    expect(await notes.findOne({ _id: inserted.upsertedId })).toEqual({
      _id: inserted.upsertedId,
      text: 'delta',
      kind: 'x',
      n: 4,
      created: true,
    })
    const updated = await notes.updateOne(
      { text: 'delta' },
      { $set: { n: 5 }, $setOnInsert: { created: false } },
      { upsert: true },
    )
    expect(updated).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 })
    expect(await notes.findOne({ text: 'delta' })).toMatchObject({ n: 5, created: true })
  })

  it('replaces a document, keeping its _id, and upserts a replacement', async () => {
    const notes = await seeded()
    expect(await notes.replaceOne({ _id: 1 }, { text: 'replaced' })).toMatchObject({
      matchedCount: 1,
      modifiedCount: 1,
    })
    expect(await notes.findOne({ _id: 1 })).toEqual({ _id: 1, text: 'replaced' })
    expect(await notes.replaceOne({ _id: 9 }, { text: 'new' }, { upsert: true })).toMatchObject({
      upsertedCount: 1,
      upsertedId: 9,
    })
  })

  it('finds and updates, replaces or deletes one, answering the document before or after', async () => {
    const notes = await seeded()
    expect(await notes.findOneAndUpdate({ tags: 'b' }, { $inc: { n: 1 } }, { sort: { n: -1 } })).toMatchObject({
      _id: 3,
      n: 2,
    })
    expect(
      await notes.findOneAndUpdate({ _id: 3 }, { $inc: { n: 1 } }, { returnDocument: 'after', projection: { n: 1 } }),
    ).toEqual({ _id: 3, n: 4 })
    expect(await notes.findOneAndReplace({ _id: 2 }, { text: 'B' }, { returnDocument: 'after' })).toEqual({
      _id: 2,
      text: 'B',
    })
    expect(await notes.findOneAndDelete({ _id: 1 })).toMatchObject({ text: 'alpha' })
    expect(await notes.findOneAndDelete({ _id: 1 })).toBeNull()
    expect(
      await notes.findOneAndUpdate(
        { _id: 7 },
        { $set: { text: 'upserted' } },
        { upsert: true, returnDocument: 'after' },
      ),
    ).toEqual({ _id: 7, text: 'upserted' })
  })

  it('lists distinct values, array elements each', async () => {
    const notes = await seeded()
    expect((await notes.distinct('tags')).sort()).toEqual(['a', 'b'])
    expect(await notes.distinct('text', { n: { $gt: 2 } })).toEqual(['alpha'])
  })

  it('aggregates with a MongoDB pipeline', async () => {
    const notes = await seeded()
    const totals = await notes
      .aggregate([{ $unwind: '$tags' }, { $group: { _id: '$tags', total: { $sum: '$n' } } }, { $sort: { _id: 1 } }])
      .toArray()
    expect(totals).toEqual([
      { _id: 'a', total: 5 },
      { _id: 'b', total: 3 },
    ])
  })

  it('runs a bulkWrite in order and answers the driver’s counts', async () => {
    const notes = await seeded()
    const result = await notes.bulkWrite([
      { insertOne: { document: { _id: 10, text: 'ten' } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { n: 0 } } } },
      { updateMany: { filter: { tags: 'b' }, update: { $set: { b: true } } } },
      { replaceOne: { filter: { _id: 11 }, replacement: { text: 'eleven' }, upsert: true } },
      { deleteOne: { filter: { _id: 2 } } },
      { deleteMany: { filter: { _id: { $gt: 100 } } } },
    ])
    expect(result).toEqual({
      insertedCount: 1,
      matchedCount: 3,
      modifiedCount: 3,
      deletedCount: 1,
      upsertedCount: 1,
      insertedIds: { 0: 10 },
      upsertedIds: { 3: 11 },
    })
  })

  it('stops an ordered bulkWrite at the first failure, keeping what ran before it', async () => {
    const notes = await seeded()
    await expect(
      notes.bulkWrite([
        { insertOne: { document: { _id: 20 } } },
        { insertOne: { document: { _id: 1 } } },
        { insertOne: { document: { _id: 21 } } },
      ]),
    ).rejects.toBeInstanceOf(DuplicateKeyError)
    expect(await notes.countDocuments({ _id: { $in: [20, 21] } })).toBe(1)
  })

  it('keeps a declared unique index unique on insert, update and replace, changing nothing when refused', async () => {
    const users = new MemoryCollection({ indexes: [{ key: { email: 1 }, unique: true }] })
    await users.insertOne({ _id: 1, email: 'a@x.test' })
    await users.insertOne({ _id: 2, email: 'b@x.test' })
    await expect(users.insertOne({ email: 'a@x.test' })).rejects.toBeInstanceOf(DuplicateKeyError)
    await expect(users.updateOne({ _id: 2 }, { $set: { email: 'a@x.test' } })).rejects.toBeInstanceOf(DuplicateKeyError)
    await expect(users.replaceOne({ _id: 2 }, { email: 'a@x.test' })).rejects.toBeInstanceOf(DuplicateKeyError)
    expect(await users.findOne({ _id: 2 })).toEqual({ _id: 2, email: 'b@x.test' })
    expect(await users.countDocuments()).toBe(2)
  })
})
