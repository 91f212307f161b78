import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type TenantCollection, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { TenantIsolationError } = errors

/**
 * The allow-list, both ways: everything it lists works on a tenant's collection (a list that
 * lost an entry would break host code), and every refusal says what was refused (the detail a
 * developer reads in the 400). The attacks themselves, and what a victim keeps, are in
 * test/isolation/leak-probe.ts.
 */
async function notesOf(strategy: 'isolated' | 'shared') {
  const tenancy = createTenancy({ store: memoryStore({ strategy, collections: { notes: {} } }), auth: TEST_AUTH })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const tenant = await tenancy.tenant({ id: organization.id })
  const notes = tenant.collection('notes') as TenantCollection<Record<string, unknown>>
  await notes.insertMany([
    { text: 'a', n: 1, at: new Date('2026-01-01'), tags: ['x', 'y'] },
    { text: 'b', n: 3, at: new Date('2026-01-03'), tags: ['y'] },
  ])
  return { notes, tenantId: organization.id }
}

const FIELD_IS_TENANTRYS = 'tenantId is the tenant field, which tenantry keeps to itself on the shared strategy'

async function refusal(operation: () => unknown): Promise<string> {
  try {
    await operation()
  } catch (err) {
    expect(err).toBeInstanceOf(TenantIsolationError)
    return (err as Error).message
  }
  throw new Error('the operation was not refused')
}

// Each allowed stage in a pipeline it can run in.
const STAGES: [string, Record<string, unknown>][] = [
  ['$match', { $match: { text: 'a' } }],
  ['$project', { $project: { text: 1 } }],
  ['$addFields', { $addFields: { twice: { $multiply: ['$n', 2] } } }],
  ['$set', { $set: { flag: true } }],
  ['$unset', { $unset: 'tags' }],
  ['$group', { $group: { _id: null, total: { $sum: '$n' } } }],
  ['$sort', { $sort: { n: -1 } }],
  ['$limit', { $limit: 1 }],
  ['$skip', { $skip: 1 }],
  ['$count', { $count: 'all' }],
  ['$unwind', { $unwind: '$tags' }],
  ['$facet', { $facet: { texts: [{ $project: { text: 1 } }] } }],
  ['$bucket', { $bucket: { groupBy: '$n', boundaries: [0, 2, 4] } }],
  ['$bucketAuto', { $bucketAuto: { groupBy: '$n', buckets: 2 } }],
  ['$sortByCount', { $sortByCount: '$text' }],
  ['$replaceRoot', { $replaceRoot: { newRoot: { t: '$text' } } }],
  ['$replaceWith', { $replaceWith: { t: '$text' } }],
  ['$sample', { $sample: { size: 1 } }],
  [
    '$setWindowFields',
    {
      $setWindowFields: {
        sortBy: { n: 1 },
        output: { running: { $sum: '$n', window: { documents: ['unbounded', 'current'] } } },
      },
    },
  ],
  ['$densify', { $densify: { field: 'n', range: { step: 1, bounds: 'full' } } }],
  ['$fill', { $fill: { sortBy: { n: 1 }, output: { text: { method: 'locf' } } } }],
  ['$redact', { $redact: '$$KEEP' }],
]

// Each allowed update operator, in an order where each one changes the note it is applied to.
const OPERATORS: Record<string, unknown>[] = [
  { $set: { text: 'c' } },
  { $unset: { tags: '' } },
  { $inc: { n: 1 } },
  { $mul: { n: 2 } },
  { $min: { n: 0 } },
  { $max: { n: 9 } },
  { $rename: { text: 'title' } },
  { $setOnInsert: { made: true } },
  { $push: { tags: 'z' } },
  { $addToSet: { tags: 'w' } },
  { $pop: { tags: 1 } },
  { $pullAll: { tags: ['z'] } },
  { $push: { tags: 'x' } },
  { $pull: { tags: 'x' } },
  { $currentDate: { seen: true } },
  { $bit: { n: { and: 1 } } },
]

function nested(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let value = leaf
  for (let i = 0; i < depth; i++) value = { $and: [value] }
  return value
}

for (const strategy of ['isolated', 'shared'] as const) {
  describe(`what a tenant's collection allows on the ${strategy} strategy`, () => {
    for (const [name, stage] of STAGES) {
      it(`runs an aggregation with ${name}, alone and inside $facet`, async () => {
        const { notes } = await notesOf(strategy)
        await expect(notes.aggregate([stage]).toArray()).resolves.toBeInstanceOf(Array)
        if (name !== '$facet')
          await expect(notes.aggregate([{ $facet: { inner: [stage] } }]).toArray()).resolves.toHaveLength(1)
      })
    }

    it('applies every allowed update operator', async () => {
      const { notes } = await notesOf(strategy)
      const { _id } = (await notes.findOne({ text: 'b' }))!
      for (const update of OPERATORS) {
        // $setOnInsert changes only a document an upsert creates.
        const result =
          '$setOnInsert' in update
            ? await notes.updateOne({ text: 'fresh' }, update as never, { upsert: true })
            : await notes.updateOne({ _id }, update as never)
        expect(result.modifiedCount + result.upsertedCount, JSON.stringify(update)).toBe(1)
      }
    })

    it('applies a pipeline update of $set, $addFields and $unset stages', async () => {
      const { notes } = await notesOf(strategy)
      await notes.updateMany({}, [{ $set: { a: 1 } }, { $addFields: { b: 2 } }, { $unset: ['tags'] }, { $unset: 'a' }])
      expect(await notes.findOne({ text: 'a' }, { projection: { _id: 0, text: 1, a: 1, b: 1, tags: 1 } })).toEqual({
        text: 'a',
        b: 2,
      })
    })

    it('takes a filter nested as deep as the limit, and refuses one a level deeper', async () => {
      const { notes } = await notesOf(strategy)
      // Each $and adds two levels (its array, the object in it): 'a' is 64 levels down, then 65.
      expect(await notes.countDocuments(nested(31, { text: { $eq: 'a' } }))).toBe(1)
      expect(await refusal(() => notes.countDocuments(nested(32, { text: 'a' })))).toBe(
        'the query is nested too deeply',
      )
    })

    it('takes a $facet, and refuses one inside another as the server does', async () => {
      const { notes } = await notesOf(strategy)
      const pipeline = [{ $facet: { inner: [{ $count: 'all' }] } }]
      await expect(notes.aggregate(pipeline).toArray()).resolves.toEqual([{ inner: [{ all: 2 }] }])
      expect(await refusal(() => notes.aggregate([{ $facet: { outer: pipeline } }]).toArray())).toBe(
        '$facet may not hold another $facet',
      )
    })

    it('skips an option given as undefined, and refuses an option the operation does not take', async () => {
      const { notes } = await notesOf(strategy)
      expect(await notes.countDocuments({}, { skip: undefined, batchSize: undefined } as never)).toBe(2)
      expect(await refusal(() => notes.countDocuments({}, { batchSize: 1 } as never))).toBe(
        'countDocuments does not take the option batchSize',
      )
      expect(await refusal(() => notes.countDocuments({}, 'skip' as never))).toBe(
        'the options of countDocuments must be an object',
      )
      expect(await refusal(() => notes.find({}, { sort: { $where: 1 } } as never).toArray())).toBe(
        '$where runs code on the server and is not allowed',
      )
    })

    it('says what it refused, for every kind of malformed operation', async () => {
      const { notes } = await notesOf(strategy)
      const cases: [() => unknown, string][] = [
        [() => notes.find('text' as never).toArray(), 'a filter must be an object'],
        [() => notes.find([] as never).toArray(), 'a filter must be an object'],
        [() => notes.find(null as never).toArray(), 'a filter must be an object'],
        [() => notes.insertOne(null as never), 'a document must be a plain object'],
        [
          () => notes.find({ $or: [{ $where: 'true' }] }).toArray(),
          '$where runs code on the server and is not allowed',
        ],
        [
          () => notes.find({ $expr: { $accumulator: {} } }).toArray(),
          '$accumulator runs code on the server and is not allowed',
        ],
        [() => notes.aggregate('x' as never).toArray(), 'a pipeline must be an array of stages'],
        [() => notes.aggregate([{}]).toArray(), 'each pipeline stage has exactly one operator'],
        [() => notes.aggregate([{ $match: {}, $limit: 1 }]).toArray(), 'each pipeline stage has exactly one operator'],
        [() => notes.aggregate(['$match'] as never).toArray(), 'each pipeline stage has exactly one operator'],
        [
          () => notes.aggregate([{ $out: 'x' }]).toArray(),
          "the aggregation stage $out is not allowed: it could reach beyond the tenant's documents",
        ],
        [() => notes.aggregate([{ $facet: [] }]).toArray(), '$facet takes an object of pipelines'],
        [() => notes.aggregate([{ $facet: { inner: {} } }]).toArray(), '$facet takes an object of pipelines'],
        [
          () => notes.aggregate([{ $project: { x: { $function: {} } } }]).toArray(),
          '$function runs code on the server and is not allowed',
        ],
        [() => notes.updateOne({}, [] as never), 'an update pipeline needs at least one stage'],
        [() => notes.updateOne({}, [{}] as never), 'each stage of an update pipeline has exactly one operator'],
        [
          () => notes.updateOne({}, [{ $set: {}, $unset: 'a' }] as never),
          'each stage of an update pipeline has exactly one operator',
        ],
        [() => notes.updateOne({}, ['$set'] as never), 'each stage of an update pipeline has exactly one operator'],
        [() => notes.updateOne({}, [{ $lookup: {} }] as never), 'an update pipeline may not use $lookup'],
        [() => notes.updateOne({}, [{ $set: 'a' }] as never), '$set takes an object'],
        [() => notes.updateOne({}, [{ $unset: [1] }] as never), '$unset takes field names'],
        [() => notes.updateOne({}, [{ $unset: ['text', 1] }] as never), '$unset takes field names'],
        [
          () => notes.updateOne({}, [{ $set: { a: { $function: {} } } }] as never),
          '$function runs code on the server and is not allowed',
        ],
        [() => notes.updateOne({}, 'x' as never), 'an update must be an object of update operators or a pipeline'],
        [() => notes.updateOne({}, {}), 'an update needs at least one operator'],
        [() => notes.updateOne({}, { $where: {} } as never), 'the update operator $where is not allowed'],
        [
          () => notes.updateOne({}, { text: 'x' } as never),
          'an update must use update operators; use replaceOne to replace a document',
        ],
        [() => notes.updateOne({}, { $set: 'x' } as never), '$set takes an object'],
        [
          () => notes.updateOne({}, { $set: { a: { $where: 'x' } } }),
          '$where runs code on the server and is not allowed',
        ],
        [() => notes.insertOne('x' as never), 'a document must be a plain object'],
        [() => notes.insertOne(new Date() as never), 'a document must be a plain object'],
        [() => notes.insertOne({ $set: 1 }), 'a document may not have the field $set'],
      ]
      for (const [operation, message] of cases) expect(await refusal(operation)).toBe(message)
    })

    it('takes documents and filters made without a prototype, as query-string parsers make them', async () => {
      const { notes } = await notesOf(strategy)
      await notes.insertOne(Object.assign(Object.create(null), { text: 'bare' }))
      expect(await notes.countDocuments(Object.assign(Object.create(null), { text: 'bare' }))).toBe(1)
    })

    it('sets a field to a string that happens to name the tenant field', async () => {
      const { notes } = await notesOf(strategy)
      await notes.updateOne({ text: 'a' }, { $set: { text: 'tenantId' } })
      expect(await notes.countDocuments({ text: 'tenantId' })).toBe(1)
    })

    it('stores an inserted document without changing the caller’s object', async () => {
      const { notes } = await notesOf(strategy)
      const document = { text: 'mine' }
      await notes.insertOne(document)
      expect(document).toEqual({ text: 'mine' })
      expect(await notes.countDocuments({ text: 'mine' })).toBe(1)
    })
  })
}

describe('what a tenant’s collection allows on each strategy only', () => {
  it('lets a pipeline update rewrite whole documents in a tenant’s own collection', async () => {
    const { notes } = await notesOf('isolated')
    await notes.updateOne({ text: 'a' }, [{ $project: { text: 1, n: 1 } }])
    await notes.updateOne({ text: 'a' }, [{ $replaceWith: { $mergeObjects: ['$$ROOT', { n: 5 }] } }])
    await notes.updateOne({ text: 'b' }, [{ $replaceRoot: { newRoot: { _id: '$_id', text: 'b', n: 6 } } }])
    expect(await notes.find({}, { projection: { _id: 0 }, sort: { text: 1 } }).toArray()).toEqual([
      { text: 'a', n: 5 },
      { text: 'b', n: 6 },
    ])
  })

  it('refuses a pipeline update that rewrites whole documents in a shared collection', async () => {
    const { notes } = await notesOf('shared')
    for (const stage of ['$project', '$replaceWith', '$replaceRoot']) {
      expect(await refusal(() => notes.updateOne({}, [{ [stage]: { text: 1 } }] as never))).toBe(
        `an update pipeline may not use ${stage}`,
      )
    }
  })

  it('lets a shared collection’s document carry its own tenant id, and stamps it when absent', async () => {
    const { notes, tenantId } = await notesOf('shared')
    await notes.insertOne({ text: 'own', tenantId })
    expect(await notes.countDocuments({ text: 'own' })).toBe(1)
    expect(await refusal(() => notes.insertOne({ text: 'other', tenantId: 'someone-else' }))).toBe(
      'a document may not name another tenant in tenantId',
    )
  })

  it('says which tenant-field change it refused in a shared collection', async () => {
    const { notes } = await notesOf('shared')
    const cases: [() => unknown, string][] = [
      [() => notes.updateOne({}, { $set: { tenantId: 'x' } }), 'an update may not change the tenant field tenantId'],
      [
        () => notes.updateOne({}, { $set: { 'tenantId.a': 'x' } }),
        'an update may not change the tenant field tenantId',
      ],
      [
        () => notes.updateOne({}, { $rename: { text: 'tenantId' } }),
        'an update may not change the tenant field tenantId',
      ],
      [
        () => notes.updateOne({}, [{ $unset: 'tenantId' }] as never),
        'an update may not change the tenant field tenantId',
      ],
      [() => notes.updateOne({ tenantId: 'x' }, { $set: { a: 1 } }, { upsert: true }), FIELD_IS_TENANTRYS],
      [
        () => notes.updateOne({ $and: [{ 'tenantId.x': 1 }] }, { $set: { a: 1 } }, { upsert: true }),
        FIELD_IS_TENANTRYS,
      ],
      [
        () =>
          notes.updateOne({ $or: [{ text: { $in: ['a'] } }, { tenantId: 'x' }] }, { $set: { a: 1 } }, { upsert: true }),
        FIELD_IS_TENANTRYS,
      ],
      [() => notes.updateOne({ text: 'new', tenantId: 'x' }, { $set: { a: 1 } }, { upsert: true }), FIELD_IS_TENANTRYS],
      [() => notes.find({ $expr: { $eq: ['$tenantId', 'x'] } }).toArray(), FIELD_IS_TENANTRYS],
      [() => notes.find({}, { projection: { tenantId: 1 } }).toArray(), FIELD_IS_TENANTRYS],
      [() => notes.find({}).sort({ 'tenantId.x': 1 }).toArray(), FIELD_IS_TENANTRYS],
      [() => notes.distinct('tenantId'), 'distinct may not read the tenant field tenantId'],
      [() => notes.aggregate([{ $group: { _id: '$tenantId' } }]).toArray(), FIELD_IS_TENANTRYS],
      [
        () => notes.updateMany({}, [{ $set: { copy: '$$ROOT' } }]),
        'an update pipeline may not use $$ROOT on the shared strategy',
      ],
      [
        () => notes.updateMany({}, [{ $set: { copy: '$$CURRENT.text' } }]),
        'an update pipeline may not use $$CURRENT on the shared strategy',
      ],
      [
        () => notes.updateOne(nested(64, { text: 'a' }), { $set: { a: 1 } }, { upsert: true }),
        'the query is nested too deeply',
      ],
      // Deep enough to overflow the stack of a walk without a limit: the same clear refusal.
      [
        () => notes.updateOne(nested(50_000, { text: 'a' }), { $set: { a: 1 } }, { upsert: true }),
        'the query is nested too deeply',
      ],
    ]
    for (const [operation, message] of cases) expect(await refusal(operation)).toBe(message)
  })

  it('refuses a filter naming the tenant field even with the tenant’s own id, so no answer depends on it', async () => {
    const { notes, tenantId } = await notesOf('shared')
    expect(await refusal(() => notes.updateOne({ tenantId, text: 'a' }, { $set: { seen: true } }))).toBe(
      FIELD_IS_TENANTRYS,
    )
    expect(await refusal(() => notes.countDocuments({ tenantId }))).toBe(FIELD_IS_TENANTRYS)
  })

  it('lets the isolated strategy use a field that happens to be called tenantId', async () => {
    const { notes } = await notesOf('isolated')
    await notes.insertOne({ text: 'own', tenantId: 'anything' })
    expect(await notes.countDocuments({ tenantId: 'anything' })).toBe(1)
  })

  it('takes an upsert filter nested as deep as the limit', async () => {
    const { notes } = await notesOf('shared')
    expect(
      await notes.updateOne(nested(31, { text: { $eq: 'a' } }), { $set: { deep: true } }, { upsert: true }),
    ).toMatchObject({ matchedCount: 1 })
  })

  it('lets an upsert in a shared collection name fields beside the tenant field', async () => {
    const { notes } = await notesOf('shared')
    // "tenantIdx" and "tenant" share a prefix with the tenant field, and are other fields.
    await notes.updateOne({ tenantIdx: 1, text: 'new' }, { $set: { tenant: 'x' } }, { upsert: true })
    await notes.updateOne({ text: 'a' }, { $set: { tenantIdx: 2 } }, { upsert: false })
    expect(await notes.countDocuments({ text: 'new', tenant: 'x' })).toBe(1)
    expect(await notes.countDocuments({ tenantIdx: 2 })).toBe(1)
  })

  it('keeps the tenant field out of every answer, even from a document that carried it', async () => {
    const { notes, tenantId } = await notesOf('shared')
    await notes.insertOne({ text: 'own', tenantId })
    const answers = [
      await notes.find({}).toArray(),
      await notes.findOne({ text: 'own' }),
      await notes.findOneAndUpdate({ text: 'own' }, { $set: { n: 9 } }, { returnDocument: 'after' }),
      await notes
        .aggregate([
          { $facet: { all: [{ $group: { _id: null, docs: { $push: '$$ROOT' } } }] } },
          { $replaceRoot: { newRoot: { docs: '$all' } } },
        ])
        .toArray(),
    ]
    expect(JSON.stringify(answers)).not.toContain(tenantId)
  })
})
