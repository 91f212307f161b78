import { describe, expect, it } from 'vitest'
import { TenantryError } from '../errors.js'
import { memoryRecords } from '../stores/memory/memory-records.js'
import { createTenancy } from '../tenancy.js'
import type { Tenant } from '../tenant.js'
import { leakProbes, type Probe } from './leak-probes.js'
import { type DataProviderUnderTest, migrated } from './subjects.js'
import { PASSWORD, TEST_AUTH } from './test-auth.js'

const GENERATED_ID = /^([0-9a-f]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

/**
 * An answer as it would compare across the two worlds: the organizations' ids and Mallory's
 * document ids by name, any other generated id as one placeholder, an error by class and code.
 */
function normalize(answer: { value?: unknown; error?: unknown }, names: Map<string, string>): string {
  if ('error' in answer) {
    const err = answer.error
    // Typed errors only: a raw engine error would be a 500 in the host.
    expect(err, String(err)).toBeInstanceOf(TenantryError)
    return JSON.stringify({ error: (err as TenantryError).name, code: (err as TenantryError).code })
  }
  return JSON.stringify(answer.value ?? null, (_key, value: unknown) => {
    if (typeof value !== 'string') return value
    return names.get(value) ?? (GENERATED_ID.test(value) ? '<generated>' : value)
  })
}

async function settle(run: () => Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  try {
    return { value: await run() }
  } catch (error) {
    return { error }
  }
}

async function world(subject: DataProviderUnderTest, victimData: boolean) {
  // Any record store will do: what is probed is the data provider.
  const tenancy = createTenancy({
    store: { records: memoryRecords(), data: await subject.create() },
    auth: TEST_AUTH,
  })
  const [mallory, victim] = (await Promise.all(
    ['Mallory', 'Victim'].map(async (org): Promise<Tenant> => {
      const { organization } = await tenancy.orgs.create({
        name: org,
        email: `admin@${org.toLowerCase()}.test`,
        password: PASSWORD,
      })
      return tenancy.tenant({ id: organization.id })
    }),
  )) as [Tenant, Tenant]
  const names = new Map([
    [mallory.id, '<mallory>'],
    [victim.id, '<victim>'],
  ])
  for (const collection of ['notes', 'invoices'] as const) {
    if (victimData)
      await victim.collection(collection as 'notes').insertMany([
        { text: 'victim-a', number: 5, secret: 'VICTIM-SECRET', tags: ['v'] },
        { text: 'victim-b', number: 6, secret: 'VICTIM-SECRET' },
      ])
    const { insertedIds } = await mallory.collection(collection as 'notes').insertMany([
      { text: 'mallory-a', number: 1, tags: ['x', 'y'] },
      { text: 'mallory-b', number: 2 },
    ])
    for (const [index, id] of Object.entries(insertedIds)) names.set(String(id), `<${collection}-${index}>`)
  }
  const stateOf = async (tenant: Tenant) =>
    JSON.stringify(
      await Promise.all(
        ['notes', 'invoices'].map((collection) =>
          tenant
            .collection(collection as 'notes')
            .find({}, { sort: { text: 1 } })
            .toArray(),
        ),
      ),
    )
  return { mallory, victim, names, stateOf }
}

/**
 * What Mallory sees of one probe in each world, the victim's documents present and then absent:
 * her answers on both collections and what her own collections hold afterwards. Nothing of the
 * victim's may come back, and the victim's documents must not change; a differential test then
 * requires the two to be the same.
 */
export async function probeOutcomes(subject: DataProviderUnderTest, probe: Probe): Promise<[string, string]> {
  const physicalName = subject.physicalName ?? ((collection: string) => `tenantry_data_${collection}`)
  const outcomes: string[] = []
  for (const victimData of [true, false]) {
    const { mallory, victim, names, stateOf } = await world(subject, victimData)
    const victimBefore = await stateOf(victim)
    const answers: string[] = []
    for (const collection of ['notes', 'invoices'] as const) {
      answers.push(
        normalize(
          await settle(() => probe(mallory.collection(collection as 'notes'), victim.id, physicalName(collection))),
          names,
        ),
      )
    }
    const seen = answers.join('\n')
    // The victim's id may come back where the attacker wrote it in (a field on 'isolated'); its data never.
    for (const trace of ['VICTIM-SECRET', 'victim-']) expect(seen).not.toContain(trace)
    expect(await stateOf(victim)).toBe(victimBefore)
    outcomes.push(`${seen}\n${normalize({ value: JSON.parse(await stateOf(mallory)) }, names)}`)
  }
  return outcomes as [string, string]
}

/**
 * The differential leak probe: two worlds, each with Mallory and a victim organization, the
 * victim's documents present in one and absent in the other. Mallory tries every operation with
 * adversarial input in both; her answers (value, or error class and code) and what her own
 * collections hold afterwards must be the same in both worlds, nothing of the victim's may come
 * back, and the victim's documents must not change. A refusal is a fine answer as long as it
 * does not depend on the victim.
 */
export function describeDataIsolation(given: DataProviderUnderTest): void {
  const subject = migrated(given)
  describe(`the ${subject.name} data, probed by an attacker with the victim's data present and absent`, () => {
    for (const [label, probe] of leakProbes()) {
      it(`answers alike and leaves the victim whole: ${label}`, async () => {
        const [present, absent] = await probeOutcomes(subject, probe)
        expect(present).toBe(absent)
      })
    }

    it('hands out no way to the collection underneath, the database or the client', async () => {
      const { mallory } = await world(subject, true)
      const handle = mallory.collection('notes') as unknown as Record<string, unknown>
      for (const hatch of [
        'db',
        'client',
        'target',
        'collection',
        'watch',
        'drop',
        'rename',
        'createIndex',
        'dropIndexes',
        'indexes',
        'initializeOrderedBulkOp',
      ])
        expect(handle[hatch], hatch).toBeUndefined()
      const cursor = mallory.collection('notes').find({}) as unknown as Record<string, unknown>
      for (const hatch of ['filter', 'addCursorFlag', 'addQueryModifier', 'batchSize'])
        expect(cursor[hatch], hatch).toBeUndefined()
    })

    it('keeps a unique index unique per tenant, and the tenant field out of what a tenant reads', async () => {
      const { mallory, victim } = await world(subject, false)
      const invoices = (tenant: Tenant) => tenant.collection('invoices' as 'notes')
      await invoices(mallory).insertOne({ number: 7 })
      await invoices(victim).insertOne({ number: 7 })
      await expect(invoices(mallory).insertOne({ number: 7 })).rejects.toMatchObject({ code: 'DUPLICATE_KEY' })
      expect(Object.keys((await invoices(mallory).findOne({ number: 7 }))!).sort()).toEqual(['_id', 'number'])
    })
  })
}
