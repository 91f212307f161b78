import { describe, expect, it } from 'vitest'
import type { OrganizationRecord } from '../control/records.js'
import { createTenancy, type Tenancy } from '../tenancy.js'
import * as errors from '../errors.js'
import type { Store } from '../store.js'
import type { MemberTenant } from '../tenant.js'
import { failingStore, InjectedFailure, type StoreStep } from './failing-store.js'
import { organization, read, write } from './fixtures.js'
import { PASSWORD, TEST_AUTH } from './test-auth.js'
import { type StoreUnderTest, migrated } from './subjects.js'

const { OrganizationNameTakenError, OrganizationNotFoundError } = errors

/**
 * The organization lifecycle over a whole store, with failures injected at every step: what a
 * failed create or delete leaves behind, and how `recover()` and `migrate()` finish the rest.
 */
export function describeLifecycle(given: StoreUnderTest): void {
  const subject = migrated(given)
  const keyOf = (org: Pick<OrganizationRecord, 'id' | 'dataKey'>) => (subject.keysAreIds ? org.id : org.dataKey)
  describe('the organization lifecycle over it', () => {
    async function setUp(inFlightTimeoutMs = 60_000) {
      const failing = failingStore(await subject.create())
      const tenancy = createTenancy({ store: failing.store, auth: TEST_AUTH, inFlightTimeoutMs })
      return { failing, tenancy, store: failing.store }
    }

    async function expectNoTrace(store: Store, name: string, email: string, keysBefore: string[]) {
      expect(await store.records.organizations.find({ nameKey: name.toLowerCase() })).toBeNull()
      expect(await store.records.accounts.find({ email })).toBeNull()
      expect((await store.data.listKeys()).sort()).toEqual([...keysBefore].sort())
    }

    const createSteps: StoreStep[] = [
      'organizations.insert',
      'accounts.insert',
      'data.provision',
      'organizations.transition',
    ]
    for (const step of createSteps) {
      it(`leaves no trace of an organization whose create fails in ${step}`, async () => {
        const { failing, tenancy, store } = await setUp()
        await tenancy.orgs.create({ name: 'Bystander', email: 'by@x.test', password: PASSWORD })
        const keysBefore = await store.data.listKeys()
        failing.failNext(step)
        await expect(
          tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD }),
        ).rejects.toBeInstanceOf(InjectedFailure)
        await expectNoTrace(store, 'Doomed', 'doomed@x.test', keysBefore)
        expect(await tenancy.orgs.get('Doomed')).toBeNull()
        // Nothing stays reserved: the same name and email work at once.
        await tenancy.orgs.create({ name: 'Doomed', email: 'doomed@x.test', password: PASSWORD })
        expect(await tenancy.orgs.get('Bystander')).not.toBeNull()
      })
    }

    for (const step of ['accounts.insert', 'data.provision'] satisfies StoreStep[]) {
      it(`keeps a create that failed in ${step} and then failed to clean up invisible, and recovers it once stale`, async () => {
        const { failing, tenancy, store } = await setUp(0)
        const keysBefore = await store.data.listKeys()
        failing.failNext(step)
        failing.failNext('organizations.delete')
        await expect(
          tenancy.orgs.create({ name: 'Crashed', email: 'crash@x.test', password: PASSWORD }),
        ).rejects.toBeInstanceOf(InjectedFailure)
        expect(await tenancy.orgs.get('Crashed')).toBeNull()
        await expect(tenancy.auth.login({ email: 'crash@x.test', password: PASSWORD })).rejects.toMatchObject({
          code: 'INVALID_CREDENTIALS',
        })
        // The next claim of the name finishes the undo and takes it.
        await tenancy.orgs.create({ name: 'Crashed', email: 'crash@x.test', password: PASSWORD })
        expect((await store.data.listKeys()).length).toBe(keysBefore.length + 1)
      })
    }

    it('recovers at start-up: stale in-flight organizations go, orphaned data spaces are dropped, live ones stay', async () => {
      const { tenancy, store } = await setUp(0)
      const tenant = await acmeWithNote(tenancy)
      const stuck = organization({ state: 'provisioning', stateChangedAt: new Date(Date.now() - 1000) })
      await store.records.organizations.insert(stuck)
      await store.data.provision(stuck)
      const orphan = organization()
      await store.data.provision(orphan)
      expect(await tenancy.recover()).toEqual({
        organizationsRemoved: 1,
        orphanDataSpacesDropped: 1,
        orphanMembershipsRemoved: 0,
      })
      expect(await store.records.organizations.find({ id: stuck.id })).toBeNull()
      const keys = await store.data.listKeys()
      expect(keys).not.toContain(keyOf(stuck))
      expect(keys).not.toContain(keyOf(orphan))
      expect(
        await read(
          (
            await tenancy.authenticate(
              (
                await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
              ).accessToken,
            )
          ).collection('notes'),
        ),
      ).toEqual(['precious'])
      expect(tenant.name).toBe('Acme')
    })

    it('migrates every active tenant, resumably, and reports progress', async () => {
      const { tenancy } = await setUp()
      for (const name of ['One', 'Two', 'Three'])
        await tenancy.orgs.create({ name, email: `${name}@x.test`, password: PASSWORD })
      const seen: number[] = []
      const full = await tenancy.migrate({ onProgress: (report) => seen.push(report.migrated) })
      expect(full.migrated).toBe(3)
      expect(seen).toEqual([1, 2, 3])
      let firstId: string | undefined
      const resumed = await tenancy.migrate({ after: undefined, onProgress: (report) => (firstId ??= report.lastId) })
      expect(resumed.migrated).toBe(3)
      expect((await tenancy.migrate({ after: firstId })).migrated).toBe(2)
    })

    it('gives an organization stored before slugs existed a slug when migrating', async () => {
      const { tenancy, store } = await setUp()
      const legacy = organization({ name: 'Legacy Corp', nameKey: 'legacy corp' }) as Partial<OrganizationRecord>
      delete legacy.slug
      await store.records.organizations.insert(legacy as OrganizationRecord)
      await store.data.provision(legacy as OrganizationRecord)
      await tenancy.migrate()
      expect((await store.records.organizations.find({ id: legacy.id! }))!.slug).toBe('legacy-corp')
      expect((await tenancy.tenant({ slug: 'legacy-corp' })).id).toBe(legacy.id)
    })

    it('does not take over a name whose create is still in flight', async () => {
      const { tenancy, store } = await setUp(60_000)
      await store.records.organizations.insert(organization({ name: 'Busy', nameKey: 'busy', state: 'provisioning' }))
      await expect(
        tenancy.orgs.create({ name: 'Busy', email: 'busy@x.test', password: PASSWORD }),
      ).rejects.toBeInstanceOf(OrganizationNameTakenError)
    })

    async function acmeWithNote(tenancy: Tenancy): Promise<MemberTenant> {
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      const tenant = await tenancy.authenticate(accessToken)
      await write(tenant.collection('notes'), 'precious')
      return tenant
    }

    it('renames without moving or losing data', async () => {
      const { tenancy } = await setUp()
      const tenant = await acmeWithNote(tenancy)
      await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
      const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      const renamed = await tenancy.authenticate(accessToken)
      expect(renamed.name).toBe('Acme Renamed')
      expect(await read(renamed.collection('notes'))).toEqual(['precious'])
    })

    it('undoes the rename when the credential change that came with it fails', async () => {
      const { failing, tenancy } = await setUp()
      const tenant = await acmeWithNote(tenancy)
      failing.failNext('accounts.update')
      await expect(
        tenancy.orgs.update(tenant, { name: 'Acme Renamed', email: 'new@acme.test' }),
      ).rejects.toBeInstanceOf(InjectedFailure)
      expect(await tenancy.orgs.get('Acme')).toMatchObject({ name: 'Acme' })
      expect(await tenancy.orgs.get('Acme Renamed')).toBeNull()
      await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    })

    it('deletes the organization, its members, invitations, domains and data space, and never an account’s other memberships', async () => {
      const { tenancy, store } = await setUp()
      const tenant = await acmeWithNote(tenancy)
      const org = (await store.records.organizations.find({ id: tenant.id }))!
      // A store without domains keeps none; one with them must drop them with the organization.
      if (store.records.domains) await tenancy.orgs.addDomain(tenant, 'shop.acme.com')
      await tenancy.orgs.create({ name: 'Globex', email: 'both@x.test', password: PASSWORD })
      const { token } = await tenancy.invitations.invite(tenant, { email: 'both@x.test', role: 'member' })
      await tenancy.invitations.accept({ token, password: PASSWORD })
      await tenancy.invitations.invite(tenant, { email: 'pending@x.test', role: 'member' })
      await tenancy.orgs.delete(tenant, 'Acme')
      expect(await store.records.memberships.list({ organizationId: tenant.id })).toEqual([])
      expect(await store.records.invitations.list(tenant.id)).toEqual([])
      // The account's membership elsewhere stays, and it still logs in there.
      expect(await tenancy.auth.login({ email: 'both@x.test', password: PASSWORD })).toMatchObject({
        tokenType: 'Bearer',
      })
      expect(await store.records.organizations.find({ id: tenant.id })).toBeNull()
      expect((await store.records.domains?.find('shop.acme.com')) ?? null).toBeNull()
      expect(await store.records.organizations.find({ slug: 'acme' })).toBeNull()
      expect(await store.records.accounts.find({ id: tenant.member.accountId })).toBeNull()
      expect(await store.data.listKeys()).not.toContain(keyOf(org))
    })

    it('keeps an organization whose data drop failed deleting, never back in service with part of its data, and recover() finishes it', async () => {
      const { failing, tenancy, store } = await setUp(0)
      const tenant = await acmeWithNote(tenancy)
      const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      failing.failNext('data.drop')
      await expect(tenancy.orgs.delete(tenant, 'Acme')).rejects.toBeInstanceOf(InjectedFailure)
      await expect(tenancy.authenticate(accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
      await expect(tenancy.tenant({ id: tenant.id })).rejects.toBeInstanceOf(OrganizationNotFoundError)
      expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 1 })
      expect(await store.records.organizations.find({ id: tenant.id })).toBeNull()
      expect(await store.data.listKeys()).toEqual([])
    })

    for (const step of [
      'data.drop',
      'sessions.delete',
      'memberships.deleteByOrganization',
      'accounts.delete',
      'organizations.delete',
    ] satisfies StoreStep[]) {
      it(`finishes a delete that failed in ${step} the next time its name is claimed`, async () => {
        const { failing, tenancy, store } = await setUp(0)
        const tenant = await acmeWithNote(tenancy)
        const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
        failing.failNext(step)
        await expect(tenancy.orgs.delete(tenant, 'Acme')).rejects.toBeInstanceOf(InjectedFailure)
        await expect(tenancy.authenticate(accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
        expect(await tenancy.orgs.get('Acme')).toBeNull()
        await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
        expect(await store.records.accounts.find({ id: tenant.member.accountId })).toBeNull()
        const fresh = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
        expect(await read((await tenancy.authenticate(fresh.accessToken)).collection('notes'))).toEqual([])
      })
    }
  })
}
