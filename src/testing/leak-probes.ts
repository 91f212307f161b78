import type { TenantCollection } from '../data/collection-types.js'

/** One attack: run as the attacker's collection, aimed at the victim's id and the real collection underneath. */
export type Probe = (mine: TenantCollection, victimId: string, physical: string) => Promise<unknown>

// An expression that throws only on a document holding the victim's secret: an error oracle. What
// throws is the secret itself, never a constant: a server folds a constant sub-expression before it
// reads any document, and would fail the same with or without the victim's data.
const THROWS_ON_VICTIM = { $cond: [{ $eq: ['$secret', 'VICTIM-SECRET'] }, { $toInt: '$secret' }, false] }
const ORACLE = { $expr: THROWS_ON_VICTIM }

// Stages that reach other data, each tried at the top level and inside $facet, aimed at the real
// collection underneath, as an attacker who guessed its name would.
const REFUSED_STAGES: ((collection: string) => Record<string, unknown>)[] = [
  (collection) => ({ $lookup: { from: collection, localField: 'text', foreignField: 'text', as: 'joined' } }),
  (collection) => ({ $lookup: { from: collection, pipeline: [], as: 'joined' } }),
  (collection) => ({
    $graphLookup: {
      from: collection,
      startWith: '$text',
      connectFromField: 'text',
      connectToField: 'text',
      as: 'joined',
    },
  }),
  (collection) => ({ $unionWith: { coll: collection } }),
  (collection) => ({ $unionWith: collection }),
  () => ({ $out: 'stolen' }),
  (collection) => ({ $merge: { into: collection } }),
  () => ({ $collStats: { count: {} } }),
  () => ({ $indexStats: {} }),
  () => ({ $currentOp: {} }),
  () => ({ $changeStream: {} }),
  () => ({ $documents: [{ tenantId: 'x' }] }),
]

/** Every method with adversarial input, as an attacker controlling one tenant's code would try. */
export function leakProbes(): [string, Probe][] {
  const reads: [string, Probe][] = [
    ['find naming the victim', (c, v) => c.find({ tenantId: v }).toArray()],
    ['find with $or around the victim', (c, v) => c.find({ $or: [{ tenantId: v }, {}] }).toArray()],
    ['find with $nor', (c) => c.find({ $nor: [{ text: 'nothing' }] }).toArray()],
    ['find with $expr on the tenant field', (c, v) => c.find({ $expr: { $eq: ['$tenantId', v] } }).toArray()],
    ['find with $ne on the tenant field', (c) => c.find({ tenantId: { $ne: 'anyone' } }).toArray()],
    ['find with a dotted path to the tenant field', (c, v) => c.find({ 'tenantId.0': v[0] }).toArray()],
    ['find projecting the tenant field', (c) => c.find({}, { projection: { tenantId: 1, text: 1 } }).toArray()],
    [
      'find through chained cursor options',
      (c) => c.find({}).sort({ text: 1 }).skip(0).limit(100).project({ text: 1 }).toArray(),
    ],
    [
      'find with an error oracle, stepped through with next and hasNext',
      async (c) => {
        const cursor = c.find(ORACLE).map((document) => document.text)
        const seen: unknown[] = [await cursor.hasNext()]
        for (let text = await cursor.next(); text !== null; text = await cursor.next()) seen.push(text)
        return seen
      },
    ],
    ['find with an error oracle', (c) => c.find(ORACLE).toArray()],
    [
      'find with an error oracle behind an _id condition',
      (c) => c.find({ _id: { $exists: true }, ...ORACLE }).toArray(),
    ],
    [
      'find with an error oracle in $and after a selective condition',
      (c) => c.find({ $and: [{ number: { $gt: 0 } }, ORACLE] }).toArray(),
    ],
    [
      'find with an error oracle under a collation, hint and comment',
      (c) => c.find(ORACLE, { collation: { locale: 'en' }, hint: { _id: 1 }, comment: 'probe' }).toArray(),
    ],
    ['find with a regular expression on the secret', (c) => c.find({ secret: { $regex: '^VICTIM' } }).toArray()],
    ['findOne naming the victim', (c, v) => c.findOne({ tenantId: v })],
    ['findOne with an error oracle', (c) => c.findOne(ORACLE)],
    ['countDocuments naming the victim', (c, v) => c.countDocuments({ tenantId: v })],
    ['countDocuments with an error oracle', (c) => c.countDocuments(ORACLE)],
    ['estimatedDocumentCount', (c) => c.estimatedDocumentCount()],
    ['distinct of a field', (c) => c.distinct('text')],
    ['distinct of the secret', (c) => c.distinct('secret')],
    ['distinct of the tenant field', (c) => c.distinct('tenantId')],
    ['distinct with an error oracle', (c) => c.distinct('text', ORACLE)],
    ['aggregate matching the victim', (c, v) => c.aggregate([{ $match: { tenantId: v } }]).toArray()],
    ['aggregate with an error oracle', (c) => c.aggregate([{ $match: ORACLE }]).toArray()],
    ['aggregate computing an error oracle', (c) => c.aggregate([{ $project: { x: THROWS_ON_VICTIM } }]).toArray()],
    [
      'aggregate grouping everything with $$ROOT',
      (c) => c.aggregate([{ $group: { _id: null, all: { $push: '$$ROOT' } } }]).toArray(),
    ],
    [
      'aggregate with $replaceRoot of $$ROOT',
      (c) => c.aggregate([{ $replaceRoot: { newRoot: { doc: '$$ROOT' } } }]).toArray(),
    ],
    [
      'aggregate with $facet of $$ROOT',
      (c) => c.aggregate([{ $facet: { all: [{ $project: { doc: '$$ROOT' } }] } }]).toArray(),
    ],
    [
      'aggregate with $unwind writing its index into the tenant field',
      (c) => c.aggregate([{ $unwind: { path: '$tags', includeArrayIndex: 'tenantId' } }]).toArray(),
    ],
    [
      'a join of a declared collection',
      (c) =>
        c
          .aggregate([{ $lookup: { from: 'invoices', localField: 'number', foreignField: 'number', as: 'joined' } }])
          .toArray(),
    ],
    [
      'a join with an error oracle in its pipeline',
      (c) => c.aggregate([{ $lookup: { from: 'invoices', pipeline: [{ $match: ORACLE }], as: 'joined' } }]).toArray(),
    ],
    [
      'a join with let and an error oracle',
      (c) =>
        c
          .aggregate([
            {
              $lookup: {
                from: 'invoices',
                let: { n: '$number' },
                // The oracle first: $and stops at its first false term.
                pipeline: [{ $match: { $expr: { $and: [THROWS_ON_VICTIM, { $eq: ['$number', '$$n'] }] } } }],
                as: 'joined',
              },
            },
          ])
          .toArray(),
    ],
    ['a union with a declared collection', (c) => c.aggregate([{ $unionWith: 'invoices' }]).toArray()],
    [
      'a union with an error oracle',
      (c) => c.aggregate([{ $unionWith: { coll: 'invoices', pipeline: [{ $match: ORACLE }] } }]).toArray(),
    ],
    [
      'a graph lookup through a declared collection',
      (c) =>
        c
          .aggregate([
            {
              $graphLookup: {
                from: 'invoices',
                startWith: '$number',
                connectFromField: 'number',
                connectToField: 'number',
                as: 'joined',
              },
            },
          ])
          .toArray(),
    ],
    [
      'a graph lookup restricted by an error oracle',
      (c) =>
        c
          .aggregate([
            {
              $graphLookup: {
                from: 'invoices',
                startWith: '$number',
                connectFromField: 'number',
                connectToField: 'number',
                as: 'joined',
                restrictSearchWithMatch: ORACLE,
              },
            },
          ])
          .toArray(),
    ],
    [
      'a join inside $facet, with an error oracle',
      (c) =>
        c
          .aggregate([
            { $facet: { joined: [{ $lookup: { from: 'invoices', pipeline: [{ $match: ORACLE }], as: 'joined' } }] } },
          ])
          .toArray(),
    ],
    [
      'a join inside a join, with an error oracle',
      (c) =>
        c
          .aggregate([
            {
              $lookup: {
                from: 'invoices',
                pipeline: [{ $lookup: { from: 'notes', pipeline: [{ $match: ORACLE }], as: 'deeper' } }],
                as: 'joined',
              },
            },
          ])
          .toArray(),
    ],
    ['find with $where', (c) => c.find({ $where: 'true' }).toArray()],
    [
      'find with $function',
      (c) => c.find({ $expr: { $function: { body: 'function () { return true }', args: [], lang: 'js' } } }).toArray(),
    ],
    ['find with $where inside a Map', (c) => c.find({ $and: [new Map([['$where', 'true']])] } as never).toArray()],
    ['find with an option it does not know', (c) => c.find({}, { batchSize: 1 } as never).toArray()],
  ]
  const stages: [string, Probe][] = REFUSED_STAGES.flatMap((stage): [string, Probe][] => {
    // The whole stage names the test: $lookup and $unionWith each come in two forms.
    const name = JSON.stringify(stage('<underneath>'))
    return [
      [`aggregate with ${name}`, (c, _v, physical) => c.aggregate([stage(physical)]).toArray()],
      [
        `aggregate with ${name} inside $facet`,
        (c, _v, physical) => c.aggregate([{ $facet: { inner: [{ $match: {} }, stage(physical)] } }]).toArray(),
      ],
    ]
  })
  const writes: [string, Probe][] = [
    ['insertOne carrying the victim’s id', (c, v) => c.insertOne({ tenantId: v, text: 'planted' })],
    ['insertOne choosing an _id', (c) => c.insertOne({ _id: 'chosen-id', text: 'planted' })],
    ['insertOne taking a unique key the victim holds', (c) => c.insertOne({ number: 5, text: 'mine' })],
    [
      'insertMany with one document carrying the victim’s id',
      (c, v) => c.insertMany([{ text: 'fine' }, { tenantId: v, text: 'planted' }]),
    ],
    ['insertOne with an operator key', (c) => c.insertOne({ $set: { tenantId: 'x' } } as never)],
    ['updateOne naming the victim', (c, v) => c.updateOne({ tenantId: v }, { $set: { text: 'pwned' } })],
    ['updateMany with an error oracle', (c) => c.updateMany(ORACLE, { $set: { touched: true } })],
    [
      'updateMany with $or around the victim',
      (c, v) => c.updateMany({ $or: [{ tenantId: v }, { text: { $exists: true } }] }, { $set: { touched: true } }),
    ],
    ['updateMany setting the tenant field', (c, v) => c.updateMany({}, { $set: { tenantId: v } })],
    ['updateMany setting a path under the tenant field', (c) => c.updateMany({}, { $set: { 'tenantId.x': 1 } })],
    ['updateMany unsetting the tenant field', (c) => c.updateMany({}, { $unset: { tenantId: '' } })],
    ['updateMany renaming a field onto the tenant field', (c) => c.updateMany({}, { $rename: { text: 'tenantId' } })],
    [
      'updateOne upserting a chosen _id',
      (c) => c.updateOne({ _id: 'chosen-id' }, { $set: { text: 'planted' } }, { upsert: true }),
    ],
    [
      'updateOne upserting with $setOnInsert of an _id',
      (c) => c.updateOne({ text: 'new' }, { $setOnInsert: { _id: 'chosen-id' } }, { upsert: true }),
    ],
    [
      'an upsert whose filter names the victim',
      (c, v) => c.updateOne({ tenantId: v, text: 'victim-a' }, { $set: { upserted: true } }, { upsert: true }),
    ],
    [
      'an upsert taking a unique key the victim holds',
      (c) => c.updateOne({ number: 5 }, { $set: { text: 'mine' } }, { upsert: true }),
    ],
    ['a pipeline update setting the tenant field', (c, v) => c.updateMany({}, [{ $set: { tenantId: v } }])],
    ['a pipeline update copying $$ROOT', (c) => c.updateMany({}, [{ $set: { copy: '$$ROOT' } }])],
    ['a pipeline update computing an error oracle', (c) => c.updateMany({}, [{ $set: { x: THROWS_ON_VICTIM } }])],
    ['an update with an unknown operator', (c) => c.updateMany({}, { $currentOp: {} } as never)],
    ['an update with conflicting paths', (c) => c.updateMany({}, { $set: { text: 'a', 'text.b': 1 } })],
    ['replaceOne naming the victim', (c, v) => c.replaceOne({ tenantId: v }, { text: 'pwned' })],
    ['replaceOne with an error oracle', (c) => c.replaceOne(ORACLE, { text: 'replaced' })],
    [
      'replaceOne upserting a chosen _id',
      (c) => c.replaceOne({ text: 'none' }, { _id: 'chosen-id', text: 'planted' }, { upsert: true }),
    ],
    ['deleteOne naming the victim', (c, v) => c.deleteOne({ tenantId: v })],
    ['deleteMany with an error oracle', (c) => c.deleteMany(ORACLE)],
    ['deleteMany with $nor', (c) => c.deleteMany({ $nor: [{ text: 'nothing' }] })],
    [
      'findOneAndUpdate with an error oracle',
      (c) => c.findOneAndUpdate(ORACLE, { $set: { text: 'x' } }, { returnDocument: 'after' }),
    ],
    [
      'findOneAndUpdate upserting for the victim',
      (c, v) => c.findOneAndUpdate({ tenantId: v }, { $set: { text: 'x' } }, { upsert: true, returnDocument: 'after' }),
    ],
    ['findOneAndReplace carrying the victim’s id', (c, v) => c.findOneAndReplace({}, { tenantId: v, text: 'moved' })],
    ['findOneAndDelete with an error oracle', (c) => c.findOneAndDelete(ORACLE)],
    [
      'bulkWrite mixing every kind, with an error oracle',
      (c, v) =>
        c.bulkWrite([
          { updateMany: { filter: ORACLE, update: { $set: { text: 'pwned' } } } },
          { replaceOne: { filter: { tenantId: v }, replacement: { text: 'pwned' }, upsert: true } },
          { deleteMany: { filter: { $or: [{ tenantId: v }, {}] } } },
          { updateOne: { filter: {}, update: { $set: { text: 'mine' } }, upsert: true } },
        ]),
    ],
    [
      'bulkWrite with an error oracle, unordered',
      (c) =>
        c.bulkWrite([{ deleteMany: { filter: ORACLE } }, { insertOne: { document: { text: 'after' } } }], {
          ordered: false,
        }),
    ],
    [
      'bulkWrite inserting for the victim',
      (c, v) =>
        c.bulkWrite([
          { insertOne: { document: { text: 'fine' } } },
          { insertOne: { document: { tenantId: v, text: 'planted' } } },
        ]),
    ],
    ['bulkWrite with an operation it does not know', (c) => c.bulkWrite([{ dropCollection: {} } as never])],
  ]
  return [...reads, ...stages, ...writes]
}
