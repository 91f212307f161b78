import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type TenantCollection, errors } from 'tenantry'
import { toProblem } from 'tenantry/http'
import { mongoStore } from 'tenantry/mongodb'
import { ScopedCollection } from '../../src/data/scoped-collection.js'
import { MemoryCollection } from '../../src/stores/memory/memory-collection.js'
import { mongoQueryError } from '../../src/stores/mongodb/mongo-query-errors.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const {
  DuplicateKeyError,
  InvalidQueryError,
  QueryLimitError,
  QueryTimeoutError,
  TenantIsolationError,
  UnsupportedQueryError,
} = errors

async function tenantOf(strategy: 'isolated' | 'shared') {
  const tenancy = createTenancy({
    store: memoryStore({ strategy, collections: { projects: {}, notes: {}, tasks: {} } }),
    auth: TEST_AUTH,
  })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const tenant = await tenancy.tenant({ id: organization.id })
  const projects = tenant.collection('projects' as 'notes') as TenantCollection
  const notes = tenant.collection('notes') as TenantCollection
  const tasks = tenant.collection('tasks' as 'notes') as TenantCollection
  await projects.insertMany([
    { key: 'p1', name: 'Apollo' },
    { key: 'p2', name: 'Gemini' },
  ])
  await notes.insertMany([
    { project: 'p1', text: 'b' },
    { project: 'p1', text: 'a' },
    { project: 'p2', text: 'C' },
  ])
  await tasks.insertMany([{ key: 't1', next: 't2' }, { key: 't2', next: 't3' }, { key: 't3' }])
  return { projects, notes, tasks }
}

async function failure(operation: () => unknown): Promise<unknown> {
  try {
    await operation()
  } catch (err) {
    return err
  }
  throw new Error('the operation did not fail')
}

for (const strategy of ['isolated', 'shared'] as const) {
  describe(`a tenant's queries on the ${strategy} memory strategy`, () => {
    it('joins its own declared collections with $lookup, in both forms', async () => {
      const { projects } = await tenantOf(strategy)
      const byEquality = await projects
        .aggregate([
          { $lookup: { from: 'notes', localField: 'key', foreignField: 'project', as: 'notes' } },
          { $project: { _id: 0, key: 1, count: { $size: '$notes' } } },
        ])
        .toArray()
      expect(byEquality).toEqual([
        { key: 'p1', count: 2 },
        { key: 'p2', count: 1 },
      ])
      const byPipeline = await projects
        .aggregate([
          {
            $lookup: {
              from: 'notes',
              let: { key: '$key' },
              pipeline: [
                { $match: { $expr: { $eq: ['$project', '$$key'] } } },
                { $sort: { text: 1 } },
                { $project: { _id: 0, text: 1 } },
              ],
              as: 'notes',
            },
          },
          { $project: { _id: 0, key: 1, notes: 1 } },
        ])
        .toArray()
      expect(byPipeline).toEqual([
        { key: 'p1', notes: [{ text: 'a' }, { text: 'b' }] },
        { key: 'p2', notes: [{ text: 'C' }] },
      ])
    })

    it('joins with $unionWith and $graphLookup, also inside $facet and a join’s own pipeline', async () => {
      const { projects, tasks } = await tenantOf(strategy)
      expect(
        await projects
          .aggregate([{ $unionWith: { coll: 'notes', pipeline: [{ $match: { text: 'a' } }] } }, { $count: 'all' }])
          .toArray(),
      ).toEqual([{ all: 3 }])
      const chain = await tasks
        .aggregate([
          { $match: { key: 't1' } },
          {
            $graphLookup: {
              from: 'tasks',
              startWith: '$next',
              connectFromField: 'next',
              connectToField: 'key',
              as: 'after',
            },
          },
          { $project: { _id: 0, after: { $size: '$after' } } },
        ])
        .toArray()
      expect(chain).toEqual([{ after: 2 }])
      const nested = await projects
        .aggregate([
          {
            $facet: {
              withNotes: [
                {
                  $lookup: {
                    from: 'notes',
                    pipeline: [{ $lookup: { from: 'tasks', pipeline: [{ $count: 'n' }], as: 'tasks' } }, { $limit: 1 }],
                    as: 'notes',
                  },
                },
                { $limit: 1 },
                { $project: { _id: 0, tasks: '$notes.tasks' } },
              ],
            },
          },
        ])
        .toArray()
      expect(nested).toEqual([{ withNotes: [{ tasks: [[{ n: 3 }]] }] }])
    })

    it('refuses a join of a collection the store does not declare', async () => {
      const { projects } = await tenantOf(strategy)
      for (const stage of [
        { $lookup: { from: 'secrets', localField: 'a', foreignField: 'b', as: 'x' } },
        { $unionWith: 'tenantry_data_notes' },
        {
          $graphLookup: { from: 'organizations', startWith: '$a', connectFromField: 'a', connectToField: 'b', as: 'x' },
        },
      ]) {
        expect(await failure(() => projects.aggregate([stage]).toArray())).toBeInstanceOf(TenantIsolationError)
      }
    })

    it('steps through a cursor with next, hasNext, map and close, as the driver’s does', async () => {
      const { notes } = await tenantOf(strategy)
      const cursor = notes.find({}, { sort: { text: 1 } }).map((note) => note.text)
      expect(await cursor.hasNext()).toBe(true)
      expect(await cursor.next()).toBe('C')
      expect(await cursor.next()).toBe('a')
      expect(await cursor.toArray()).toEqual(['b'])
      expect(await cursor.next()).toBeNull()
      const closed = notes.aggregate([{ $sort: { text: 1 } }])
      expect((await closed.next())?.text).toBe('C')
      await closed.close()
      expect(await closed.hasNext()).toBe(false)
      const seen: unknown[] = []
      for await (const note of notes.find({ project: 'p1' }).project<{ text: string }>({ _id: 0, text: 1 }))
        seen.push(note)
      expect(seen).toHaveLength(2)
      expect(() => cursor.map(String)).toThrow(InvalidQueryError)
      // As the driver's: nothing is checked or sent until the cursor is read, so an await catches a bad option.
      const page = notes.find({}).skip(Number('x'))
      await expect(page.toArray()).rejects.toBeInstanceOf(InvalidQueryError)
    })

    it('takes collation, hint and comment, and sorts under the collation', async () => {
      const { notes } = await tenantOf(strategy)
      const texts = async (options: object) =>
        (await notes.find({}, { sort: { text: 1 }, ...options }).toArray()).map((note) => note.text)
      expect(await texts({})).toEqual(['C', 'a', 'b'])
      expect(await texts({ collation: { locale: 'en', strength: 2 }, hint: { _id: 1 }, comment: 'list' })).toEqual([
        'a',
        'b',
        'C',
      ])
      expect(
        await notes.countDocuments(
          { project: 'p1' },
          { collation: { locale: 'en' }, hint: '_id_', comment: 'count', maxTimeMS: 1000 },
        ),
      ).toBe(2)
      expect(await notes.aggregate([{ $sort: { text: 1 } }], { collation: { locale: 'en' } }).toArray()).toHaveLength(3)
    })

    it('answers what it cannot do with a typed error toProblem maps to 400, naming where it works', async () => {
      const { notes } = await tenantOf(strategy)
      const cases: [() => unknown, new (...args: never[]) => Error][] = [
        [() => notes.find({ $text: { $search: 'a' } }).toArray(), UnsupportedQueryError],
        [
          () => notes.find({ text: 'a' }, { collation: { locale: 'en', strength: 1 } }).toArray(),
          UnsupportedQueryError,
        ],
        [() => notes.find({}, { collation: { locale: 'en', strength: 4 } }).toArray(), UnsupportedQueryError],
        [() => notes.find({}).skip(Number.NaN).toArray(), InvalidQueryError],
        [() => notes.find({}, { limit: -1 }).toArray(), InvalidQueryError],
        [() => notes.find({}, { skip: 1.5 }).toArray(), InvalidQueryError],
        [() => notes.find({}, { sort: { text: 'up' } } as never).toArray(), InvalidQueryError],
        [() => notes.find({}, { maxTimeMS: -5 }).toArray(), InvalidQueryError],
        [() => notes.find({ text: { $unknown: 1 } }).toArray(), InvalidQueryError],
        [() => notes.aggregate([{ $project: { x: { $unknownOperator: 1 } } }]).toArray(), InvalidQueryError],
        [() => notes.updateMany({}, { $set: { text: 'a', 'text.b': 1 } }), InvalidQueryError],
        [() => notes.updateMany({}, { $inc: { text: 1 } }), InvalidQueryError],
        [
          () =>
            notes
              .aggregate([
                {
                  $lookup: {
                    from: 'projects',
                    localField: 'project',
                    foreignField: 'key',
                    pipeline: [{ $limit: 1 }],
                    as: 'p',
                  },
                },
              ])
              .toArray(),
          UnsupportedQueryError,
        ],
        [() => notes.find({ text: { $regex: '(x+x+)+y' } }).toArray(), QueryLimitError],
      ]
      for (const [operation, type] of cases) {
        const err = await failure(operation)
        expect(err, String(operation)).toBeInstanceOf(type)
        expect(toProblem(err)?.status).toBe(400)
      }
      expect(((await failure(() => notes.find({ $text: { $search: 'a' } }).toArray())) as Error).message).toMatch(
        /MongoDB/,
      )
    })

    it('calls a value the engine cannot convert the query’s fault, not a resource limit', async () => {
      const { notes } = await tenantOf(strategy)
      await notes.insertOne({ text: 'bad date', at: new Date('not a date') })
      const err = await failure(() => notes.aggregate([{ $project: { at: { $toString: '$at' } } }]).toArray())
      expect(err).toBeInstanceOf(InvalidQueryError)
    })

    it('keeps, as MongoDB does, what an update changed before the document it failed on, and nothing after', async () => {
      const { notes } = await tenantOf(strategy)
      await notes.updateOne({ text: 'a' }, { $set: { count: 'not a number' } })
      expect(await failure(() => notes.updateMany({}, { $inc: { count: 1 } }))).toBeInstanceOf(InvalidQueryError)
      expect(await notes.find({}, { projection: { _id: 0, text: 1, count: 1 } }).toArray()).toEqual([
        { text: 'b', count: 1 },
        { text: 'a', count: 'not a number' },
        { text: 'C' },
      ])
    })

    it('refuses server-side code hidden in a Map or a class instance', async () => {
      const { notes } = await tenantOf(strategy)
      class Criteria {
        $where = 'true'
      }
      for (const filter of [
        { $and: [new Map([['$where', 'true']])] },
        { $or: [new Criteria()] },
        { text: new Set(['a']) },
      ]) {
        expect(await failure(() => notes.find(filter as never).toArray())).toBeInstanceOf(TenantIsolationError)
      }
      expect(await notes.countDocuments({ at: { $lt: new Date() }, text: /^a/ })).toBe(0)
    })
  })
}

describe('the shared strategy’s own rules', () => {
  it('generates every _id: a document, an upsert or an update may not choose one', async () => {
    const { notes } = await tenantOf('shared')
    const cases = [
      () => notes.insertOne({ _id: 'chosen', text: 'x' }),
      () => notes.updateOne({ _id: 'chosen' }, { $set: { text: 'x' } }, { upsert: true }),
      () => notes.updateOne({ text: 'new' }, { $setOnInsert: { _id: 'chosen' } }, { upsert: true }),
      () => notes.replaceOne({ text: 'none' }, { _id: 'chosen', text: 'x' }, { upsert: true }),
      () => notes.bulkWrite([{ insertOne: { document: { _id: 'chosen' } } }]),
    ]
    for (const operation of cases) expect(await failure(operation)).toBeInstanceOf(TenantIsolationError)
    expect(await notes.countDocuments({ text: 'x' })).toBe(0)
  })

  it('lets a replacement keep the _id of the document it replaces', async () => {
    const { notes } = await tenantOf('shared')
    const note = (await notes.findOne({ text: 'a' }))!
    expect(await notes.replaceOne({ _id: note._id }, { ...note, text: 'A' })).toMatchObject({ matchedCount: 1 })
    expect(await failure(() => notes.replaceOne({ _id: note._id }, { _id: 'another', text: 'A' }))).toBeInstanceOf(
      InvalidQueryError,
    )
  })
})

describe('the memory store’s time limit', () => {
  it('refuses a maxTimeMS that is not a positive whole number at start-up', () => {
    for (const maxTimeMS of [0, -1, 1.5, Number.NaN, '10'])
      expect(() => memoryStore({ maxTimeMS: maxTimeMS as never })).toThrow(TypeError)
  })

  it('stops a slow operation at the store’s maxTimeMS', async () => {
    const tenancy = createTenancy({
      store: memoryStore({ collections: { notes: {} }, maxTimeMS: 30 }),
      auth: TEST_AUTH,
    })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const notes = (await tenancy.tenant({ id: organization.id })).collection('notes')
    await notes.insertMany(Array.from({ length: 5 }, (_, n) => ({ n })))
    const slow = {
      $expr: {
        $gt: [{ $reduce: { input: { $range: [0, 40_000] }, initialValue: 0, in: { $add: ['$$value', 1] } } }, 0],
      },
    }
    expect(await failure(() => notes.countDocuments(slow))).toBeInstanceOf(QueryTimeoutError)
    expect(await notes.countDocuments(slow, { maxTimeMS: 60_000 })).toBe(5)
  })
})

describe('MongoDB server errors from a tenant’s query', () => {
  const serverError = (code: number, extra: object = {}) =>
    new MongoServerError({ message: `failed with ${code}`, code, ...extra })

  it('become the typed errors the memory store throws for the same query', () => {
    expect(mongoQueryError(serverError(11000, { keyValue: { number: 7 } }))).toBeInstanceOf(DuplicateKeyError)
    expect((mongoQueryError(serverError(11000, { keyValue: { number: 7 } })) as Error).message).not.toContain('7')
    expect(mongoQueryError(serverError(50))).toBeInstanceOf(QueryTimeoutError)
    for (const code of [2, 9, 40, 66, 168, 241, 16410, 5107201])
      expect(mongoQueryError(serverError(code)), String(code)).toBeInstanceOf(InvalidQueryError)
    for (const code of [10334, 292]) expect(mongoQueryError(serverError(code))).toBeInstanceOf(QueryLimitError)
    const bulk = new MongoBulkWriteError({ message: 'E11000', code: 11000, writeErrors: [] }, {
      insertedCount: 0,
      matchedCount: 0,
      modifiedCount: 0,
      deletedCount: 0,
      upsertedCount: 0,
      insertedIds: {},
      upsertedIds: {},
    } as never)
    expect(mongoQueryError(bulk)).toBeInstanceOf(DuplicateKeyError)
  })

  it('stay as they are when they are an outage, not the query', () => {
    for (const code of [6, 89, 91, 189, 262, 10107, 11600, 11602, 13435, 13436]) {
      const err = serverError(code)
      expect(mongoQueryError(err), String(code)).toBe(err)
    }
    const retryable = serverError(16500, { errorLabels: ['RetryableWriteError'] })
    expect(mongoQueryError(retryable)).toBe(retryable)
    const plain = new Error('socket hang up')
    expect(mongoQueryError(plain)).toBe(plain)
  })
})

describe('declared collection names on MongoDB', () => {
  // A Db from the real driver; nothing connects until a command is sent, and none is.
  const db = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 1 }).db('app')

  it('refuses a name that would be one of tenantry’s own collections', () => {
    expect(() => mongoStore({ db, strategy: 'database', collections: { tenantry_space: {} } })).toThrow(
      /tenantry's own collections/,
    )
  })

  it('takes names that once collided, now that the space registry is outside the data namespace', () => {
    for (const strategy of ['prefix', 'database', 'shared'] as const)
      expect(() =>
        mongoStore({ db, strategy, collections: { spaces: {}, organizations: {}, data_spaces: {} } }),
      ).not.toThrow()
  })
})

describe('a tenant handle over a collection that holds every tenant’s documents (MongoDB shared)', () => {
  // The same wrapper MongoDB 'shared' hands out, over a real collection of documents; no driver involved.
  const mixed = () =>
    new ScopedCollection(new MemoryCollection(), 'notes', {
      tenant: { field: 'tenantId', value: 'mine' },
      mixed: true,
      joinTarget: () => undefined,
    })

  it('refuses a hint, which could choose a plan not led by the tenant’s index', async () => {
    const notes = mixed()
    for (const operation of [
      () => notes.find({}, { hint: { _id: 1 } }).toArray(),
      () => notes.countDocuments({}, { hint: '_id_' }),
      () => notes.updateMany({}, { $set: { a: 1 } }, { hint: { _id: 1 } }),
      () => notes.deleteMany({}, { hint: { _id: 1 } }),
      () => notes.aggregate([], { hint: { _id: 1 } }).toArray(),
      () => notes.bulkWrite([{ deleteMany: { filter: {}, hint: { _id: 1 } } } as never]),
    ]) {
      expect(await failure(operation)).toBeInstanceOf(TenantIsolationError)
    }
  })

  it('leads every filter with the tenant and keeps the field out of what it answers', async () => {
    const notes = mixed()
    await notes.insertOne({ text: 'a' })
    expect(await notes.find({ text: 'a' }).toArray()).toEqual([{ _id: expect.any(String), text: 'a' }])
    expect(await notes.aggregate([{ $project: { _id: 0 } }]).toArray()).toEqual([{ text: 'a' }])
  })
})
