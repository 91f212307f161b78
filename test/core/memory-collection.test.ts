import { describe, expect, it } from 'vitest'
import { DuplicateKeyError, MemoryCollection } from 'tenantry'

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
    expect(await notes.find({ n: { $gte: 2 } }, { sort: { n: -1 }, skip: 1, limit: 1, projection: { text: 1 } }).toArray()).toEqual([{ _id: 3, text: 'gamma' }])
    expect(await notes.findOne({ text: { $regex: '^be' } })).toMatchObject({ _id: 2 })
    expect(await notes.findOne({ text: 'missing' })).toBeNull()
    expect(await notes.countDocuments({ tags: { $all: ['a', 'b'] } })).toBe(1)
  })

  it('iterates a find with for await', async () => {
    const texts: unknown[] = []
    for await (const doc of (await seeded()).find({}, { sort: { _id: 1 } })) texts.push(doc.text)
    expect(texts).toEqual(['alpha', 'beta', 'gamma'])
  })

  it('adds an _id on insert and refuses a duplicate one without storing any of the batch', async () => {
    const notes = await seeded()
    const { insertedId } = await notes.insertOne({ text: 'delta' })
    expect(typeof insertedId).toBe('string')
    await expect(notes.insertMany([{ _id: 'new', text: 'x' }, { _id: 1, text: 'dup' }])).rejects.toBeInstanceOf(DuplicateKeyError)
    expect(await notes.countDocuments()).toBe(4)
  })

  it('updates one or many with update operators', async () => {
    const notes = await seeded()
    expect(await notes.updateOne({ tags: 'a' }, { $inc: { n: 10 } })).toEqual({ matchedCount: 1, modifiedCount: 1 })
    expect(await notes.updateMany({ tags: 'b' }, { $set: { seen: true } })).toEqual({ matchedCount: 2, modifiedCount: 2 })
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
    expect(await notes.deleteOne({ tags: 'a' })).toEqual({ deletedCount: 1 })
    expect(await notes.deleteMany({ n: { $lt: 3 } })).toEqual({ deletedCount: 2 })
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
    await expect(notes.find({ $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } }).toArray()).rejects.toThrow()
  })
})
