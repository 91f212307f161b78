import { describe, expect, it } from 'vitest'
import { errors } from 'tenantry'
import { CONFORMANCE_COLLECTIONS } from 'tenantry/testing'
// The probes and their two worlds, as describeDataIsolation runs them; not part of the public surface.
import { parseDeclarations, sharedIndexes } from '../../src/data/declarations.js'
import { type DriverCollection, ScopedCollection } from '../../src/data/scoped-collection.js'
import type { TenantDataProvider } from '../../src/data/tenant-data-provider.js'
import { MemoryCollection } from '../../src/stores/memory/memory-collection.js'
import { probeOutcomes } from '../../src/testing/data-isolation.js'
import { leakProbes, type Probe } from '../../src/testing/leak-probes.js'

const FIELD = 'tenantId'
type Call = (...args: unknown[]) => unknown

/** A copy of `value` without the tenant's conditions (`{ tenantId: '<id>' }`), wherever they are. */
function unscoped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unscoped)
  if (value === null || typeof value !== 'object' || value.constructor !== Object) return value
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key, item]) => !(key === FIELD && typeof item === 'string'))
      .map(([key, item]) => [key, unscoped(item)]),
  )
}

/** As MongoDB's optimizer: a `$toInt` of a constant is evaluated, and fails, before any document is read. */
function foldConstants(value: unknown): void {
  if (Array.isArray(value)) {
    for (const item of value) foldConstants(item)
    return
  }
  if (value === null || typeof value !== 'object' || value.constructor !== Object) return
  for (const [key, item] of Object.entries(value)) {
    if (key === '$toInt' && typeof item === 'string' && !item.startsWith('$') && Number.isNaN(Number(item)))
      throw new errors.InvalidQueryError(`failed to parse number ${JSON.stringify(item)} in $convert`)
    foldConstants(item)
  }
}

/** Where a call's caller-written condition is: its filter, a bulk write's filters, a pipeline. */
async function evaluateOverEveryone(target: MemoryCollection, method: string, args: unknown[]): Promise<void> {
  const [first, second] = args.map(unscoped) as [Record<string, unknown>, unknown]
  if (method === 'aggregate') await target.aggregate(first as never).toArray()
  else if (method === 'distinct') await target.countDocuments(second as never)
  else if (method === 'bulkWrite')
    for (const operation of first as unknown as Record<string, Record<string, unknown>>[])
      for (const body of Object.values(operation))
        await evaluateOverEveryone(target, 'updateMany', [body.filter ?? {}, body.update])
  else if (!['insertOne', 'insertMany', 'estimatedDocumentCount'].includes(method)) {
    await target.countDocuments(first)
    if (Array.isArray(second)) await target.aggregate([{ $match: first }, ...second]).toArray()
  }
}

/**
 * One collection of every tenant's documents, as MongoDB's 'shared' strategy keeps them, behind a
 * handle that folds constants as the server does. With `flaw`, each call first evaluates the
 * caller's condition over every tenant's documents (a store whose tenant condition came second),
 * and fails where it fails on any of them.
 */
function sharedCollection(target: MemoryCollection, flaw: boolean): DriverCollection {
  return new Proxy(target, {
    get(collection, method: string) {
      const call = (collection as unknown as Record<string, Call>)[method]!.bind(collection)
      return (...args: unknown[]) => {
        const before = async () => {
          foldConstants(args)
          if (flaw) await evaluateOverEveryone(collection, method, args)
        }
        if (method !== 'find' && method !== 'aggregate') return before().then(() => call(...args))
        const cursor = call(...args) as AsyncIterable<unknown> & { toArray(): Promise<unknown[]> }
        return {
          toArray: () => before().then(() => cursor.toArray()),
          async *[Symbol.asyncIterator]() {
            await before()
            yield* cursor
          },
        }
      }
    },
  }) as unknown as DriverCollection
}

function sharedData(flaw: boolean): TenantDataProvider {
  const declared = parseDeclarations(CONFORMANCE_COLLECTIONS)
  const tenants = new Set<string>()
  const collections = new Map<string, MemoryCollection>()
  for (const [name, indexes] of declared)
    collections.set(
      name,
      new MemoryCollection({ indexes: sharedIndexes(indexes, FIELD), resolveCollection: (n) => collections.get(n) }),
    )
  return {
    collectionNames: [...declared.keys()],
    provision: async (org) => void tenants.add(org.id),
    async drop(org) {
      tenants.delete(org.id)
      for (const collection of collections.values()) await collection.deleteMany({ [FIELD]: org.id })
    },
    listKeys: async () => [...tenants],
    collection: (org, name) =>
      new ScopedCollection(sharedCollection(collections.get(name)!, flaw), name, {
        tenant: { field: FIELD, value: org.id },
        mixed: true,
        joinTarget: (joined) => (declared.has(joined) ? joined : undefined),
      }),
  }
}

const subject = (flaw: boolean) => ({ name: 'planted', keysAreIds: true, create: () => sharedData(flaw) })
// On a shared collection the handle refuses these before the store sees them (a hint; a bulk write
// with an operation naming the victim), so no store, flawed or not, evaluates their oracle.
const REFUSED_FIRST = new Set([
  'find with an error oracle under a collation, hint and comment',
  'bulkWrite mixing every kind, with an error oracle',
])
const oracleProbes = leakProbes().filter(([label]) => label.includes('error oracle'))

// The probes' oracle before: its failure was a constant's, so the server could fail it up front.
const CONSTANT_ORACLE = { $cond: [{ $eq: ['$secret', 'VICTIM-SECRET'] }, { $toInt: 'not a number' }, false] }
const constantProbes: [string, Probe][] = [
  ['find', (c) => c.find({ $expr: CONSTANT_ORACLE }).toArray()],
  ['countDocuments', (c) => c.countDocuments({ $expr: CONSTANT_ORACLE })],
  ['updateMany', (c) => c.updateMany({ $expr: CONSTANT_ORACLE }, { $set: { touched: true } })],
  ['aggregate', (c) => c.aggregate([{ $project: { x: CONSTANT_ORACLE } }]).toArray()],
]

describe('the error-oracle probes, against a store that evaluates the caller’s condition over every tenant’s documents', () => {
  it('number more than twenty', () => {
    expect(oracleProbes.length).toBeGreaterThan(20)
  })

  for (const [label, probe] of oracleProbes.filter(([name]) => REFUSED_FIRST.has(name))) {
    it(`are refused before the store, flawed or not, is reached: ${label}`, async () => {
      const [present, absent] = await probeOutcomes(subject(true), probe)
      expect(present).toBe(absent)
      expect(present).toContain('TENANT_ISOLATION')
    })
  }

  for (const [label, probe] of oracleProbes.filter(([name]) => !REFUSED_FIRST.has(name))) {
    it(`tell the victim’s data present from absent through that store: ${label}`, async () => {
      const [present, absent] = await probeOutcomes(subject(true), probe)
      expect(present).not.toBe(absent)
    })

    it(`answer alike on the same store without the flaw: ${label}`, async () => {
      const [present, absent] = await probeOutcomes(subject(false), probe)
      expect(present).toBe(absent)
    })
  }

  for (const [label, probe] of constantProbes) {
    it(`could not, with the constant oracle they used before, which the server folds first: ${label}`, async () => {
      const [present, absent] = await probeOutcomes(subject(true), probe)
      expect(present).toBe(absent)
      expect(present).toContain('INVALID_QUERY')
    })
  }
})
