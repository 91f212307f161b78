/**
 * The shared strategy's wrapper against the bare in-memory collection underneath, in a process
 * of its own: `findOne` by `_id` and `insertOne`, through `ScopedCollection` (what
 * `tenant.collection(name)` hands out on `'shared'`) and straight on `MemoryCollection`,
 * alternating round by round. Prints JSON: operations per second and ratios.
 */
import { ScopedCollection } from '../src/data/scoped-collection.js'
import { MemoryCollection } from '../src/stores/memory/memory-collection.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const DOCUMENTS = 1000
const ITERATIONS = 20_000

function setUp() {
  const collection = new MemoryCollection()
  const scoped = new ScopedCollection(collection, 'notes', { tenant: { field: 'tenantId', value: 'tenant-a' }, mixed: true, joinTarget: () => undefined })
  return { collection, scoped }
}

async function seed(collection: MemoryCollection): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < DOCUMENTS; i++) {
    const _id = `doc-${i}`
    await collection.insertOne({ _id, tenantId: i % 2 ? 'tenant-a' : 'tenant-b', text: `note ${i}` })
    if (i % 2) ids.push(_id)
  }
  return ids
}

/**
 * Both calls in one loop, alternating op by op, each timed on its own: the two share every GC,
 * every JIT tier-up and whatever else the machine does, which back-to-back loops do not.
 */
async function interleaved(bare: (i: number) => Promise<unknown>, scoped: (i: number) => Promise<unknown>, iterations: number): Promise<[number, number]> {
  for (let i = 0; i < 500; i++) {
    await bare(i)
    await scoped(i)
  }
  let bareNs = 0n
  let scopedNs = 0n
  for (let i = 0; i < iterations; i++) {
    let start = process.hrtime.bigint()
    await bare(i)
    bareNs += process.hrtime.bigint() - start
    start = process.hrtime.bigint()
    await scoped(i)
    scopedNs += process.hrtime.bigint() - start
  }
  return [iterations / (Number(bareNs) / 1e9), iterations / (Number(scopedNs) / 1e9)]
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const rounds: Record<string, number[]> = { findBare: [], findScoped: [], insertBare: [], insertScoped: [] }
for (let round = 0; round < ROUNDS; round++) {
  // findOne by _id on a collection of 1,000 documents, half of them the tenant's.
  const { collection, scoped } = setUp()
  const ids = await seed(collection)
  const [findBare, findScoped] = await interleaved(
    (i) => collection.findOne({ _id: ids[i % ids.length] }),
    (i) => scoped.findOne({ _id: ids[i % ids.length] }),
    ITERATIONS / 10,
  )
  rounds.findBare!.push(findBare)
  rounds.findScoped!.push(findScoped)
  // insertOne into two fresh collections that grow alike.
  const bare = setUp().collection
  const wrapped = setUp().scoped
  const [insertBare, insertScoped] = await interleaved(
    (i) => bare.insertOne({ text: `n${i}`, tenantId: 'tenant-a' }),
    (i) => wrapped.insertOne({ text: `n${i}` }),
    ITERATIONS,
  )
  rounds.insertBare!.push(insertBare)
  rounds.insertScoped!.push(insertScoped)
}
const ratio = (a: number[], b: number[]) => median(a.map((value, i) => value / b[i]!))
process.stdout.write(
  JSON.stringify({
    findOne: { bare: median(rounds.findBare!), scoped: median(rounds.findScoped!), ratio: ratio(rounds.findScoped!, rounds.findBare!) },
    insertOne: { bare: median(rounds.insertBare!), scoped: median(rounds.insertScoped!), ratio: ratio(rounds.insertScoped!, rounds.insertBare!) },
  }),
)
