import { describe, expect, it } from 'vitest'
import type { AccountRecord, OrganizationRecord } from '../control/records.js'
import * as errors from '../errors.js'
import type { Store } from '../store.js'
import { createTenancy, type Tenancy } from '../tenancy.js'
import { type FailureMode, failingStore, InjectedFailure, type StoreStep } from './failing-store.js'
import { type StoreUnderTest, migrated } from './subjects.js'
import { PASSWORD, TEST_AUTH } from './test-auth.js'

const { OrganizationNameTakenError, OrganizationNotFoundError } = errors

/**
 * The lifecycle when a store step fails after it applied (a timeout, a dropped connection, a
 * write-concern error), next to the "refused" failures the rest of the suite injects: nothing
 * is undone on a guess, no organization is active without its data or revived after it was
 * dropped, and a client's retry is not taken for a replay.
 */
export function describeAmbiguousFailures(given: StoreUnderTest): void {
  const subject = migrated(given)
  const keyOf = (org: Pick<OrganizationRecord, 'id' | 'dataKey'>) => (subject.keysAreIds ? org.id : org.dataKey)

  async function setUp(inFlightTimeoutMs = 60_000) {
    const failing = failingStore(await subject.create())
    const tenancy = createTenancy({ store: failing.store, auth: TEST_AUTH, inFlightTimeoutMs })
    return { failing, tenancy, store: failing.store }
  }

  async function acme(tenancy: Tenancy, store: Store) {
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const tokens = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const tenant = await tenancy.authenticate(tokens.accessToken)
    await tenant.collection('notes').insertOne({ text: 'precious' })
    return { tenant, tokens, record: (await store.records.organizations.find({ id: tenant.id }))! }
  }

  async function notes(tenancy: Tenancy, accessToken: string): Promise<string[]> {
    const tenant = await tenancy.authenticate(accessToken)
    return (await tenant.collection('notes').find({}).toArray()).map((doc) => String(doc.text))
  }

  describe('when a step fails after it applied, or a commit never happens', () => {
    const doomed: [StoreStep, FailureMode, string][] = [
      ['organizations.insert', 'applied', 'whose organizations.insert applied and then reported an error'],
      ['accounts.insert', 'applied', 'whose accounts.insert applied and then reported an error'],
      ['data.provision', 'applied', 'whose data.provision applied and then reported an error'],
      ['transaction', 'refused', 'whose transaction ran whole and then never committed'],
    ]
    for (const [step, mode, what] of doomed) {
      it(`leaves no trace of a create ${what}, and frees the name at once`, async (context) => {
        const { failing, tenancy, store } = await setUp()
        if (step === 'transaction' && !store.records.transaction) return context.skip()
        const keysBefore = await store.data.listKeys()
        failing.failNext(step, { mode })
        await expect(
          tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD }),
        ).rejects.toBeInstanceOf(InjectedFailure)
        expect(await store.records.organizations.find({ nameKey: 'doomed' })).toBeNull()
        expect(await store.records.accounts.find({ email: 'doomed@x.test' })).toBeNull()
        expect((await store.data.listKeys()).sort()).toEqual([...keysBefore].sort())
        await tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD })
      })
    }

    it('keeps an organization whose activation (on a store with transactions, its commit) applied and then reported an error: active, whole and usable, never torn down', async () => {
      const { failing, tenancy, store } = await setUp()
      failing.failNext(store.records.transaction ? 'transaction' : 'organizations.transition', { mode: 'applied' })
      await expect(
        tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD }),
      ).rejects.toBeInstanceOf(InjectedFailure)
      const org = (await store.records.organizations.find({ nameKey: 'acme' }))!
      expect(org.state).toBe('active')
      expect(await store.data.listKeys()).toContain(keyOf(org))
      const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      await (await tenancy.authenticate(accessToken)).collection('notes').insertOne({ text: 'works' })
      expect(await notes(tenancy, accessToken)).toEqual(['works'])
      expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0, orphanDataSpacesDropped: 0 })
    })

    it('keeps a rename whose credential change may have applied, and serves the new name and password at once', async () => {
      const { failing, tenancy, store } = await setUp()
      const { tenant, tokens } = await acme(tenancy, store)
      failing.failNext('accounts.update', { mode: 'applied' })
      await expect(
        tenancy.orgs.update(tenant, { name: 'Acme Renamed', password: 'a brand new passphrase' }),
      ).rejects.toBeInstanceOf(InjectedFailure)
      expect(await tenancy.orgs.get('Acme Renamed')).not.toBeNull()
      await expect(tenancy.authenticate(tokens.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
      await expect(tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      })
      const fresh = await tenancy.auth.login({ email: 'a@acme.test', password: 'a brand new passphrase' })
      expect((await tenancy.authenticate(fresh.accessToken)).name).toBe('Acme Renamed')
    })

    it('serves a rename that applied and then reported an error on the very next request', async () => {
      const { failing, tenancy, store } = await setUp()
      const { tenant, tokens } = await acme(tenancy, store)
      expect((await tenancy.authenticate(tokens.accessToken)).name).toBe('Acme')
      failing.failNext('organizations.update', { mode: 'applied' })
      await expect(tenancy.orgs.update(tenant, { name: 'Acme Renamed' })).rejects.toBeInstanceOf(InjectedFailure)
      expect((await tenancy.authenticate(tokens.accessToken)).name).toBe('Acme Renamed')
    })

    for (const step of [
      'organizations.transition',
      'data.drop',
      'sessions.delete',
      'domains.deleteByOrganization',
      'memberships.deleteByOrganization',
      'audit.deleteByOrganization',
    ] satisfies StoreStep[]) {
      it(`never serves an organization again once its delete's ${step} applied and then reported an error, and recover() finishes it`, async (context) => {
        const { failing, tenancy, store } = await setUp(0)
        // An optional group the store does not keep has no step to fail.
        if (!(step.split('.')[0]! in store.records) && !step.startsWith('data.')) return context.skip()
        const { tenant, tokens, record } = await acme(tenancy, store)
        failing.failNext(step, { mode: 'applied' })
        await expect(tenancy.orgs.delete(tenant, 'Acme')).rejects.toBeInstanceOf(InjectedFailure)
        await expect(tenancy.authenticate(tokens.accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
        await expect(tenancy.tenant({ id: tenant.id })).rejects.toBeInstanceOf(OrganizationNotFoundError)
        expect(await tenancy.orgs.get('Acme')).toBeNull()
        await tenancy.recover()
        expect(await store.records.organizations.find({ id: tenant.id })).toBeNull()
        expect(await store.data.listKeys()).not.toContain(keyOf(record))
        await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
        expect(
          await notes(tenancy, (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken),
        ).toEqual([])
      })
    }

    for (const step of ['sessions.consumeRefreshToken', 'sessions.insertRefreshToken'] satisfies StoreStep[]) {
      it(`lets the client retry a refresh whose ${step} applied and then reported an error, once, without ending its session`, async () => {
        const { failing, tenancy, store } = await setUp()
        const { tokens } = await acme(tenancy, store)
        failing.failNext(step, { mode: 'applied' })
        await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toBeInstanceOf(InjectedFailure)
        const retried = await tenancy.auth.refresh(tokens.refreshToken)
        expect(await notes(tenancy, retried.accessToken)).toEqual(['precious'])
        // The retry used up the grace: the same token once more is a replay, and ends the session.
        await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
        await expect(tenancy.auth.refresh(retried.refreshToken)).rejects.toMatchObject({
          code: 'REFRESH_TOKEN_INVALID',
        })
      })
    }

    it('still ends the session when a token that was rotated without a failure comes back', async () => {
      const { tenancy, store } = await setUp()
      const { tokens } = await acme(tenancy, store)
      const rotated = await tenancy.auth.refresh(tokens.refreshToken)
      await expect(tenancy.auth.refresh(tokens.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
      await expect(tenancy.auth.refresh(rotated.refreshToken)).rejects.toMatchObject({ code: 'REFRESH_TOKEN_INVALID' })
    })
  })

  describe('teardown decisions', () => {
    function record(overrides: Partial<OrganizationRecord>): OrganizationRecord {
      const now = new Date()
      const id = `org-${Math.random().toString(36).slice(2, 10)}`
      return {
        id,
        name: 'Stuck',
        nameKey: 'stuck',
        slug: 'stuck',
        ownerId: 'member-stuck',
        dataKey: `t_${Math.random().toString(16).slice(2, 14).padEnd(24, '0')}`,
        state: 'provisioning',
        stateChangedAt: now,
        createdAt: now,
        updatedAt: now,
        ...overrides,
      }
    }

    it('measures the in-flight timeout on the store’s clock, not on the clock of the app server that wrote the record', async () => {
      const { tenancy, store } = await setUp(60_000)
      // An app server whose clock runs an hour slow stamps a create that is in flight right now.
      await store.records.organizations.insert(record({ stateChangedAt: new Date(Date.now() - 3_600_000) }))
      await expect(
        tenancy.orgs.create({ name: 'Stuck', email: 's@x.test', password: PASSWORD }),
      ).rejects.toBeInstanceOf(OrganizationNameTakenError)
      expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 0 })
    })

    it('lets exactly one of several instances recovering at once tear down each stale organization', async () => {
      const store = await subject.create()
      const cleaned: string[] = []
      // A claim restarts the timeout, which is what keeps the other instances off: so it cannot be 0 here.
      const inFlightTimeoutMs = 100
      const instances = Array.from({ length: 4 }, () =>
        createTenancy({
          store,
          auth: TEST_AUTH,
          inFlightTimeoutMs,
          hooks: { beforeDelete: (tenant) => void cleaned.push(tenant.id) },
        }),
      )
      await instances[0]!.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const acmeId = (await store.records.organizations.find({ nameKey: 'acme' }))!.id
      await store.records.organizations.transition(acmeId, { from: ['active'], to: 'deleting' })
      await new Promise((resolve) => setTimeout(resolve, inFlightTimeoutMs + 50))
      const reports = await Promise.all(instances.map((instance) => instance.recover()))
      expect(reports.reduce((sum, report) => sum + report.organizationsRemoved, 0)).toBe(1)
      expect(cleaned).toEqual([acmeId])
      expect(await store.records.organizations.find({ id: acmeId })).toBeNull()
    })

    it('refuses a state change from the wrong state, so a delayed write never lands on an organization already moved on', async () => {
      const store: Store = await subject.create()
      const org = record({ state: 'provisioning' })
      await store.records.organizations.insert(org)
      expect(
        await store.records.organizations.transition(org.id, { from: ['provisioning'], to: 'deleting' }),
      ).toMatchObject({
        state: 'deleting',
      })
      expect(await store.records.organizations.transition(org.id, { from: ['provisioning'], to: 'active' })).toBeNull()
      expect(
        await store.records.organizations.transition(org.id, {
          from: ['deleting'],
          to: 'deleting',
          staleForMs: 60_000,
        }),
      ).toBeNull()
      expect((await store.records.organizations.find({ id: org.id }))!.state).toBe('deleting')
    })

    it('removes a membership whose insert landed after its organization was torn down, and the account it left belonging nowhere, freeing the email', async () => {
      const { tenancy, store } = await setUp(0)
      const now = new Date()
      const late: AccountRecord = {
        id: 'late-account',
        email: 'late@x.test',
        passwordHash: '$2b$04$hash',
        tokenVersion: 0,
        createdAt: now,
        updatedAt: now,
      }
      await store.records.accounts.insert(late)
      await store.records.memberships.insert({
        id: 'late-member',
        accountId: late.id,
        organizationId: 'long-gone',
        role: 'admin',
        createdAt: now,
        updatedAt: now,
      })
      expect(await tenancy.recover()).toMatchObject({ orphanMembershipsRemoved: 1 })
      expect(await store.records.memberships.find({ id: 'late-member' })).toBeNull()
      expect(await store.records.accounts.find({ id: late.id })).toBeNull()
      // An account left with no membership by an interrupted create frees its email for a create with another password.
      await store.records.accounts.insert(late)
      await tenancy.orgs.create({ name: 'Fresh', email: 'late@x.test', password: PASSWORD })
      await tenancy.auth.login({ email: 'late@x.test', password: PASSWORD })
    })
  })
}
