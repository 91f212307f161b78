import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Store } from 'tenantry'
import { postgresRecords } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()
const NO_LIMITS = { loginLimits: { perAccount: false, perClient: false } } as const
const median = (values: number[]) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!

/** known@x.test belongs to six organizations, as in the attack report. */
async function sixOrganizations(store: Store) {
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, ...NO_LIMITS }, store })
  await tenancy.migrate()
  const { owner } = await tenancy.orgs.create({ name: 'Org 0', email: 'known@x.test', password: PASSWORD })
  for (let i = 1; i < 6; i++) {
    const { organization } = await tenancy.orgs.create({ name: `Org ${i}`, email: `o${i}@x.test`, password: PASSWORD })
    await tenancy.admin.addMember(organization.id, { accountId: owner.accountId, role: 'member' })
  }
  return owner.organizationId
}

/** Medians of failed logins for the known email (wrong password) and for unknown ones, sampled in turn. */
async function failedLoginMedians(store: Store, organizationId: string, bcryptCost: number, samples: number) {
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, ...NO_LIMITS, bcryptCost }, store })
  const time = async (email: string) => {
    const start = performance.now()
    await expect(tenancy.auth.login({ email, password: 'not the password at all' })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    })
    const elapsed = performance.now() - start
    // The answer's own time: the audit writes it left behind settle before the next sample.
    await tenancy.admin.listAuditEvents(organizationId, { limit: 1 })
    return elapsed
  }
  await time('warm-up@x.test') // the dummy hashes are made once
  const known: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < samples; i++) {
    known.push(await time('known@x.test'))
    unknown.push(await time(`nobody-${i}@x.test`))
  }
  return { known: median(known), unknown: median(unknown) }
}

const STORES = {
  memory: () => memoryStore(),
  PostgreSQL: () => ({
    records: postgresRecords({ pool: database.pool, schema: database.fresh() }),
    data: memoryStore().data,
  }),
}

/** Within a quarter of the unknown email's time, and half a millisecond of scheduling noise. */
const TOLERANCE = (unknown: number) => unknown * 0.25 + 0.5

describe.each(Object.entries(STORES))('a failed login on the %s store', (_name, makeStore) => {
  it('takes as long for an email in six organizations as for an unknown one', async () => {
    const store = makeStore()
    const { known, unknown } = await failedLoginMedians(store, await sixOrganizations(store), TEST_AUTH.bcryptCost, 40)
    console.log(`failed login, same cost: known ${known.toFixed(2)} ms, unknown ${unknown.toFixed(2)} ms`)
    expect(Math.abs(known - unknown)).toBeLessThan(TOLERANCE(unknown))
  })

  it('takes as long for a dormant account hashed before the cost was raised as for an unknown email', async () => {
    const store = makeStore()
    const organizationId = await sixOrganizations(store) // hashed at cost 4
    const { known, unknown } = await failedLoginMedians(store, organizationId, 8, 15)
    console.log(`failed login, cost raised 4 → 8: dormant ${known.toFixed(2)} ms, unknown ${unknown.toFixed(2)} ms`)
    expect(Math.abs(known - unknown)).toBeLessThan(TOLERANCE(unknown))
  })
})

it('still records the failed attempt in each of the account’s organizations', async () => {
  const store = memoryStore()
  await sixOrganizations(store)
  const tenancy = createTenancy({ auth: { ...TEST_AUTH, ...NO_LIMITS }, store })
  await expect(tenancy.auth.login({ email: 'known@x.test', password: 'wrong password here' })).rejects.toThrow()
  const { organizations } = await tenancy.admin.listOrganizations()
  expect(organizations).toHaveLength(6)
  for (const { id } of organizations) {
    const events = await tenancy.admin.listAuditEvents(id, { limit: 10 })
    expect(events.map((event) => event.type)).toContain('login.failed')
  }
})
