/**
 * A tenant's collection on the memory store's `'shared'` strategy against the bare in-memory
 * collection holding only that tenant's documents, with 1 and with 1,000 tenants in the store,
 * in a process of its own. Each pair of calls alternates op by op. Prints JSON: operations per
 * second and ratios.
 */
import { memoryStore } from '../src/stores/memory/memory-store.js'
import { MemoryCollection } from '../src/stores/memory/memory-collection.js'
import type { OrganizationRecord } from '../src/control/records.js'
import type { Document } from '../src/data/collection-types.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const NOTES = 500
const PROJECTS = 20
const ITERATIONS = 4_000

interface Handles {
  notes: Pick<MemoryCollection, 'findOne' | 'insertOne' | 'countDocuments' | 'aggregate'>
  projects: Pick<MemoryCollection, 'aggregate'>
}

const note = (i: number) => ({ text: `note ${i}`, n: i, project: `p${i % PROJECTS}` })
const project = (i: number) => ({ key: `p${i}`, name: `project ${i}` })

/** A store of `tenants` tenants, each with the same documents; the handles of the first. */
async function scoped(tenants: number): Promise<{ handles: Handles; ids: unknown[] }> {
  const store = memoryStore({ strategy: 'shared', collections: { notes: {}, projects: {} } })
  let first: { handles: Handles; ids: unknown[] } | undefined
  for (let t = 0; t < tenants; t++) {
    const org = { id: `org-${t}`, dataKey: `t_${t.toString(16).padStart(24, '0')}` } as OrganizationRecord
    await store.data.provision(org)
    const notes = store.data.collection(org, 'notes')
    const projects = store.data.collection(org, 'projects')
    const { insertedIds } = await notes.insertMany(Array.from({ length: NOTES }, (_, i) => note(i)))
    await projects.insertMany(Array.from({ length: PROJECTS }, (_, i) => project(i)))
    first ??= { handles: { notes, projects } as unknown as Handles, ids: Object.values(insertedIds) }
  }
  return first!
}

async function bare(): Promise<{ handles: Handles; ids: unknown[] }> {
  const collections = new Map<string, MemoryCollection>()
  const resolveCollection = (name: string) => collections.get(name)
  const notes = new MemoryCollection({ resolveCollection })
  const projects = new MemoryCollection({ resolveCollection })
  collections.set('notes', notes).set('projects', projects)
  const { insertedIds } = await notes.insertMany(Array.from({ length: NOTES }, (_, i) => note(i)))
  await projects.insertMany(Array.from({ length: PROJECTS }, (_, i) => project(i)))
  return { handles: { notes, projects }, ids: Object.values(insertedIds) }
}

type Operation = (handles: Handles, ids: unknown[], i: number) => Promise<unknown>
const OPERATIONS: Record<string, Operation> = {
  findOne: (h, ids, i) => h.notes.findOne({ _id: ids[i % ids.length] }),
  countDocuments: (h) => h.notes.countDocuments({ n: { $lt: 100 } }),
  lookup: (h) =>
    h.projects
      .aggregate([
        { $lookup: { from: 'notes', localField: 'key', foreignField: 'project', as: 'notes' } },
        { $project: { key: 1, count: { $size: '$notes' } } },
      ] as Document[])
      .toArray(),
  insertOne: (h, _ids, i) => h.notes.insertOne({ text: `new ${i}`, n: i }),
}
// Per operation, how many calls make one measurement: a join costs far more than a lookup by id.
const SCALE: Record<string, number> = { findOne: 2, insertOne: 5, countDocuments: 0.25, lookup: 0.03 }

/**
 * Both calls in one loop, alternating op by op, each timed on its own: the two share every GC,
 * every JIT tier-up and whatever else the machine does, which back-to-back loops do not. Each
 * side's slowest 1% of calls is left out: a major GC of the 500,000-document heap lands on one
 * call of either side at random, and a handful of those would otherwise decide the ratio.
 */
async function interleaved(
  first: () => Promise<unknown>,
  second: () => Promise<unknown>,
  iterations: number,
): Promise<[number, number]> {
  for (let i = 0; i < Math.min(1000, iterations); i++) {
    await first()
    await second()
  }
  const times: [number[], number[]] = [[], []]
  for (let i = 0; i < iterations; i++) {
    let start = process.hrtime.bigint()
    await first()
    times[0].push(Number(process.hrtime.bigint() - start))
    start = process.hrtime.bigint()
    await second()
    times[1].push(Number(process.hrtime.bigint() - start))
  }
  const rate = (ns: number[]) => {
    const kept = ns.sort((a, b) => a - b).slice(0, Math.ceil(ns.length * 0.99))
    return kept.length / (kept.reduce((sum, value) => sum + value, 0) / 1e9)
  }
  return [rate(times[0]), rate(times[1])]
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const results: Record<string, Record<string, { bare: number[]; scoped: number[] }>> = {}
for (let round = 0; round < ROUNDS; round++) {
  for (const tenants of [1, 1000]) {
    // One pair of stores per round; insertOne runs last, so the reads see the seeded documents only.
    const [plain, wrapped] = [await bare(), await scoped(tenants)]
    for (const [name, operation] of Object.entries(OPERATIONS)) {
      let i = 0
      const [bareOps, scopedOps] = await interleaved(
        () => operation(plain.handles, plain.ids, i),
        () => operation(wrapped.handles, wrapped.ids, i++),
        Math.max(20, Math.round(ITERATIONS * SCALE[name]!)),
      )
      const entry = ((results[name] ??= {})[tenants] ??= { bare: [], scoped: [] })
      entry.bare.push(bareOps)
      entry.scoped.push(scopedOps)
    }
  }
}
const summary: Record<string, Record<string, { bare: number; scoped: number; ratio: number }>> = {}
for (const [name, byTenants] of Object.entries(results)) {
  summary[name] = {}
  for (const [tenants, { bare: b, scoped: s }] of Object.entries(byTenants)) {
    summary[name]![tenants] = { bare: median(b), scoped: median(s), ratio: median(s.map((value, i) => value / b[i]!)) }
  }
}
process.stdout.write(JSON.stringify(summary))
