import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  createTenancy,
  type AccountRecord,
  type AuditEvent,
  type InvitationRecord,
  type MembershipRecord,
  type OrganizationRecord,
  type RefreshTokenRecord,
  type SessionRecord,
  type MemberTenant,
  type TenantCollection,
  type TenantStore,
  errors,
} from 'tenantry'
import { failingStore, InjectedFailure, type StoreStep } from '../support/failing-store.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { describeAmbiguousFailures } from './ambiguous-failures.js'

// The error classes a test names, from the namespace a host uses.
const {
  EmailTakenError,
  AlreadyMemberError,
  InvitationPendingError,
  DomainTakenError,
  SlugTakenError,
  OrganizationNameTakenError,
  OrganizationNotFoundError,
} = errors

/** What a store's test file provides: a fresh, empty store per test that declares `notes` and `invoices`. */
export interface StoreUnderTest {
  name: string
  /** A fresh, empty store; called once per test. */
  create(): Promise<TenantStore> | TenantStore
  /** The shared strategy keys tenant data by organization id rather than data key. */
  keysAreIds?: boolean
}

async function write(collection: TenantCollection, text: string): Promise<void> {
  await collection.insertOne({ text })
}

async function read(collection: TenantCollection): Promise<string[]> {
  return (await collection.find({}, { sort: { text: 1 } }).toArray()).map((doc) => String(doc.text))
}

let sequence = 0
const unique = (prefix: string) => `${prefix}-${++sequence}-${Math.random().toString(36).slice(2, 8)}`

function organization(overrides: Partial<OrganizationRecord> = {}): OrganizationRecord {
  const now = new Date()
  const name = unique('Org')
  return {
    id: unique('org'),
    name,
    nameKey: name.toLowerCase(),
    slug: name.toLowerCase(),
    dataKey: `t_${randomBytes(12).toString('hex')}`,
    ownerId: unique('member'),
    state: 'active',
    stateChangedAt: now,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  }
}

/** An organization as a store returns it: `stateChangedAt` is the store's own clock, not the caller's. */
function stamped(org: OrganizationRecord) {
  return { ...org, stateChangedAt: expect.any(Date) }
}

function account(overrides: Partial<AccountRecord> = {}): AccountRecord {
  const now = new Date()
  return {
    id: unique('account'),
    email: `${unique('a')}@x.test`,
    passwordHash: '$2b$04$hash',
    tokenVersion: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  }
}

/**
 * The behaviour every store must have, run by each store's own test file. The first half
 * drives the store's primitives directly; the second drives the organization lifecycle over
 * the store with failures injected at every step, and checks what is left behind.
 */
export function describeStoreConformance(subject: StoreUnderTest): void {
  const keyOf = (org: OrganizationRecord) => (subject.keysAreIds ? org.id : org.dataKey)
  describe(`the ${subject.name} store`, () => {
    describe('records', () => {
      it('answers null, not an error, for records that do not exist', async () => {
        const store = await subject.create()
        expect(await store.findOrganization({ id: 'missing' })).toBeNull()
        expect(await store.findOrganization({ nameKey: 'missing' })).toBeNull()
        expect(await store.findAccount({ id: 'missing' })).toBeNull()
        expect(await store.findAccount({ email: 'missing@x.test' })).toBeNull()
        expect(await store.updateOrganization('missing', { name: 'x' })).toBeNull()
        expect(await store.updateAccount('missing', { email: 'x@x.test' })).toBeNull()
      })

      it('finds an organization by id and by name key, and an admin by id and by email', async () => {
        const store = await subject.create()
        const org = organization()
        const first = account()
        await store.insertOrganization(org)
        await store.insertAccount(first)
        expect(await store.findOrganization({ id: org.id })).toEqual(stamped(org))
        expect(await store.findOrganization({ nameKey: org.nameKey })).toEqual(stamped(org))
        expect(await store.findAccount({ id: first.id })).toEqual(first)
        expect(await store.findAccount({ email: first.email })).toEqual(first)
      })

      it('hands out copies, so changing a returned record changes nothing stored', async () => {
        const store = await subject.create()
        const org = organization()
        await store.insertOrganization(org)
        org.name = 'mutated after insert'
        const found = (await store.findOrganization({ id: org.id }))!
        found.state = 'deleting'
        expect((await store.findOrganization({ id: org.id }))!.state).toBe('active')
        expect((await store.findOrganization({ id: org.id }))!.name).not.toBe('mutated after insert')
      })

      it('refuses a second organization with a taken name key, on insert and on rename', async () => {
        const store = await subject.create()
        const first = organization()
        const second = organization()
        await store.insertOrganization(first)
        await store.insertOrganization(second)
        await expect(store.insertOrganization(organization({ nameKey: first.nameKey }))).rejects.toBeInstanceOf(
          OrganizationNameTakenError,
        )
        await expect(store.updateOrganization(second.id, { name: 'x', nameKey: first.nameKey })).rejects.toBeInstanceOf(
          OrganizationNameTakenError,
        )
        expect((await store.findOrganization({ id: second.id }))!.nameKey).toBe(second.nameKey)
      })

      it('frees the old name key on rename', async () => {
        const store = await subject.create()
        const org = organization()
        await store.insertOrganization(org)
        await store.updateOrganization(org.id, { name: 'Renamed', nameKey: `${org.nameKey}-renamed` })
        expect(await store.findOrganization({ nameKey: org.nameKey })).toBeNull()
        await store.insertOrganization(organization({ nameKey: org.nameKey }))
      })

      it('updates an admin only while its hash is the one expected, when asked to', async () => {
        const store = await subject.create()
        const one = account()
        await store.insertAccount(one)
        expect(
          await store.updateAccount(one.id, { passwordHash: '$2b$05$other' }, { passwordHash: '$2b$04$stale' }),
        ).toBeNull()
        expect((await store.findAccount({ id: one.id }))!.passwordHash).toBe(one.passwordHash)
        expect(
          await store.updateAccount(one.id, { passwordHash: '$2b$05$new' }, { passwordHash: one.passwordHash }),
        ).toMatchObject({ passwordHash: '$2b$05$new' })
      })

      it('refuses a taken admin email across organizations, on insert and on update', async () => {
        const store = await subject.create()
        const one = account()
        const two = account()
        await store.insertAccount(one)
        await store.insertAccount(two)
        await expect(store.insertAccount(account({ email: one.email }))).rejects.toBeInstanceOf(EmailTakenError)
        await expect(store.updateAccount(two.id, { email: one.email })).rejects.toBeInstanceOf(EmailTakenError)
        expect((await store.findAccount({ id: two.id }))!.email).toBe(two.email)
      })

      it('lets exactly one of twenty concurrent inserts of one name key win', async () => {
        const store = await subject.create()
        const nameKey = unique('race')
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.insertOrganization(organization({ nameKey }))),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results)
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(OrganizationNameTakenError)
      })

      it('deletes only the given account, and deletes idempotently', async () => {
        const store = await subject.create()
        const keep = account()
        const drop = account()
        await store.insertAccount(keep)
        await store.insertAccount(drop)
        await store.deleteAccount(drop.id)
        await store.deleteAccount(drop.id)
        await store.deleteOrganization('never-existed')
        expect(await store.findAccount({ id: drop.id })).toBeNull()
        expect(await store.findAccount({ email: drop.email })).toBeNull()
        expect(await store.findAccount({ id: keep.id })).toEqual(keep)
      })
    })

    describe('slugs and domains', () => {
      it('finds an organization by slug, and tells a taken slug from a taken name', async () => {
        const store = await subject.create()
        const org = organization()
        await store.insertOrganization(org)
        expect(await store.findOrganization({ slug: org.slug })).toEqual(stamped(org))
        await expect(store.insertOrganization(organization({ slug: org.slug }))).rejects.toBeInstanceOf(SlugTakenError)
        await expect(store.insertOrganization(organization({ nameKey: org.nameKey }))).rejects.toBeInstanceOf(
          OrganizationNameTakenError,
        )
      })

      it('refuses a taken slug on update, changing nothing, and frees the old slug on a reslug', async () => {
        const store = await subject.create()
        const first = organization()
        const second = organization()
        await store.insertOrganization(first)
        await store.insertOrganization(second)
        await expect(store.updateOrganization(second.id, { slug: first.slug, name: 'changed' })).rejects.toBeInstanceOf(
          SlugTakenError,
        )
        expect(await store.findOrganization({ id: second.id })).toEqual(stamped(second))
        await store.updateOrganization(first.id, { slug: `${first.slug}-new` })
        expect(await store.findOrganization({ slug: first.slug })).toBeNull()
        await store.insertOrganization(organization({ slug: first.slug }))
      })

      it('lets exactly one of twenty concurrent inserts of one slug win', async () => {
        const store = await subject.create()
        const slug = unique('race').toLowerCase()
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.insertOrganization(organization({ slug }))),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results)
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SlugTakenError)
      })

      it('keeps domains unique, lists them in order, and removes them only for their holder', async () => {
        const store = await subject.create()
        const now = new Date()
        await store.insertDomain({ domain: 'b.acme.com', organizationId: 'org-1', createdAt: now })
        await store.insertDomain({ domain: 'a.acme.com', organizationId: 'org-1', createdAt: now })
        await store.insertDomain({ domain: 'globex.com', organizationId: 'org-2', createdAt: now })
        await expect(
          store.insertDomain({ domain: 'a.acme.com', organizationId: 'org-2', createdAt: now }),
        ).rejects.toBeInstanceOf(DomainTakenError)
        expect(await store.findDomain('a.acme.com')).toEqual({
          domain: 'a.acme.com',
          organizationId: 'org-1',
          createdAt: now,
        })
        expect(await store.findDomain('nobody.com')).toBeNull()
        expect((await store.listDomains('org-1')).map((record) => record.domain)).toEqual(['a.acme.com', 'b.acme.com'])
        expect(await store.deleteDomain('a.acme.com', 'org-2')).toBe(false)
        expect(await store.deleteDomain('a.acme.com', 'org-1')).toBe(true)
        expect(await store.deleteDomain('a.acme.com', 'org-1')).toBe(false)
        await store.deleteDomains('org-1')
        await store.deleteDomains('org-1')
        expect(await store.listDomains('org-1')).toEqual([])
        expect(await store.findDomain('globex.com')).not.toBeNull()
      })

      it('lets exactly one of twenty concurrent claims of one domain win', async () => {
        const store = await subject.create()
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) =>
            store.insertDomain({ domain: 'contested.com', organizationId: `org-${i}`, createdAt: new Date() }),
          ),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results)
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(DomainTakenError)
      })
    })

    describe('memberships and invitations', () => {
      const membership = (accountId: string, organizationId: string, role = 'member'): MembershipRecord => {
        const now = new Date()
        return { id: unique('member'), accountId, organizationId, role, createdAt: now, updatedAt: now }
      }
      const invitation = (organizationId: string, email: string): InvitationRecord => {
        const now = new Date()
        return {
          id: unique('invitation'),
          organizationId,
          email,
          role: 'member',
          tokenHash: randomBytes(32).toString('hex'),
          invitedBy: 'someone',
          createdAt: now,
          expiresAt: new Date(now.getTime() + 60_000),
        }
      }

      it('keeps one membership per account and organization, even under twenty concurrent inserts', async () => {
        const store = await subject.create()
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.insertMembership(membership('acc-1', 'org-1'))),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results)
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(AlreadyMemberError)
        await store.insertMembership(membership('acc-1', 'org-2'))
        await store.insertMembership(membership('acc-2', 'org-1'))
        expect((await store.listMemberships({ organizationId: 'org-1' })).map((m) => m.accountId).sort()).toEqual([
          'acc-1',
          'acc-2',
        ])
        expect((await store.listMemberships({ accountId: 'acc-1' })).map((m) => m.organizationId).sort()).toEqual([
          'org-1',
          'org-2',
        ])
        expect(await store.findMembership({ accountId: 'acc-2', organizationId: 'org-1' })).toMatchObject({
          accountId: 'acc-2',
          organizationId: 'org-1',
        })
      })

      it('changes a role only while it is the one expected, and removes a membership only through its own organization', async () => {
        const store = await subject.create()
        const one = membership('acc-1', 'org-1')
        await store.insertMembership(one)
        expect(await store.updateMembership(one.id, { role: 'admin' }, { role: 'editor' })).toBeNull()
        expect(await store.updateMembership(one.id, { role: 'admin' }, { role: 'member' })).toMatchObject({
          role: 'admin',
        })
        expect(await store.deleteMembership(one.id, 'org-2')).toBe(false)
        expect(await store.findMembership({ id: one.id })).not.toBeNull()
        expect(await store.deleteMembership(one.id, 'org-1')).toBe(true)
        expect(await store.deleteMembership(one.id, 'org-1')).toBe(false)
      })

      it('deletes an organization’s memberships and invitations and no one else’s, and walks every membership in id order', async () => {
        const store = await subject.create()
        for (const m of [membership('a', 'org-1'), membership('b', 'org-1'), membership('a', 'org-2')])
          await store.insertMembership(m)
        for (const i of [invitation('org-1', 'x@x.test'), invitation('org-2', 'x@x.test')])
          await store.insertInvitation(i)
        await store.deleteMemberships('org-1')
        await store.deleteInvitations('org-1')
        expect(await store.listMemberships({ organizationId: 'org-1' })).toEqual([])
        expect(await store.listMemberships({ accountId: 'a' })).toHaveLength(1)
        expect(await store.listInvitations('org-1')).toEqual([])
        expect(await store.listInvitations('org-2')).toHaveLength(1)
        const walked: string[] = []
        for await (const m of store.walkMemberships()) walked.push(m.id)
        expect(walked).toEqual([...walked].sort())
        expect(walked).toHaveLength(1)
      })

      it('keeps one pending invitation per email and organization, even under twenty concurrent invitations', async () => {
        const store = await subject.create()
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.insertInvitation(invitation('org-1', 'same@x.test'))),
        )
        expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
        for (const result of results)
          if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvitationPendingError)
        await store.insertInvitation(invitation('org-2', 'same@x.test'))
        expect(await store.listInvitations('org-1')).toHaveLength(1)
      })

      it('lets exactly one of twenty concurrent deletes of one invitation win, and only through its own organization', async () => {
        const store = await subject.create()
        const pending = invitation('org-1', 'a@x.test')
        await store.insertInvitation(pending)
        expect(await store.findInvitation({ tokenHash: pending.tokenHash })).toEqual(pending)
        expect(await store.deleteInvitation(pending.id, 'org-2')).toBe(false)
        const results = await Promise.all(Array.from({ length: 20 }, () => store.deleteInvitation(pending.id, 'org-1')))
        expect(results.filter(Boolean)).toHaveLength(1)
        expect(await store.findInvitation({ id: pending.id })).toBeNull()
      })

      it('moves ownership only from the owner it expects', async () => {
        const store = await subject.create()
        const org = organization({ ownerId: 'member-1' })
        await store.insertOrganization(org)
        expect(await store.updateOrganization(org.id, { ownerId: 'member-3' }, { ownerId: 'member-2' })).toBeNull()
        expect(await store.updateOrganization(org.id, { ownerId: 'member-2' }, { ownerId: 'member-1' })).toMatchObject({
          ownerId: 'member-2',
        })
        const results = await Promise.all(
          ['a', 'b', 'c', 'd'].map((to) => store.updateOrganization(org.id, { ownerId: to }, { ownerId: 'member-2' })),
        )
        expect(results.filter((result) => result !== null)).toHaveLength(1)
      })
    })

    describe('sessions and refresh tokens', () => {
      const session = (overrides: Partial<SessionRecord> = {}): SessionRecord => {
        const now = new Date()
        return {
          id: unique('session'),
          accountId: unique('account'),
          organizationId: unique('org'),
          membershipId: unique('member'),
          tokenVersion: 0,
          createdAt: now,
          expiresAt: new Date(now.getTime() + 60_000),
          ...overrides,
        }
      }
      const token = (sessionId: string): RefreshTokenRecord => ({
        hash: randomBytes(32).toString('base64url'),
        sessionId,
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + 60_000),
        usedAt: null,
      })

      it('consumes a refresh token exactly once, even under twenty concurrent attempts', async () => {
        const store = await subject.create()
        const owner = session()
        await store.insertSession(owner)
        const refresh = token(owner.id)
        await store.insertRefreshToken(refresh)
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.consumeRefreshToken(refresh.hash, new Date())),
        )
        expect(results.filter((result) => result?.consumed)).toHaveLength(1)
        expect(results.every((result) => result?.token.sessionId === owner.id)).toBe(true)
        expect(await store.consumeRefreshToken('unknown', new Date())).toBeNull()
      })

      it('deletes sessions by id, by account or by organization, with their refresh tokens, and nothing else', async () => {
        const store = await subject.create()
        const [a, b, c] = [session(), session(), session()]
        const sameAdmin = session({ accountId: b.accountId })
        const sameOrg = session({ organizationId: c.organizationId })
        const tokens = new Map<string, RefreshTokenRecord>()
        for (const s of [a, b, c, sameAdmin, sameOrg]) {
          await store.insertSession(s)
          tokens.set(s.id, token(s.id))
          await store.insertRefreshToken(tokens.get(s.id)!)
        }
        await store.deleteSessions({ id: a.id })
        await store.deleteSessions({ accountId: b.accountId })
        await store.deleteSessions({ organizationId: 'no such organization' })
        for (const gone of [a, b, sameAdmin]) {
          expect(await store.findSession(gone.id)).toBeNull()
          expect(await store.consumeRefreshToken(tokens.get(gone.id)!.hash, new Date())).toBeNull()
        }
        expect(await store.findSession(c.id)).toEqual(c)
        await store.deleteSessions({ organizationId: c.organizationId })
        expect(await store.findSession(c.id)).toBeNull()
        expect(await store.findSession(sameOrg.id)).toBeNull()
      })
    })

    describe('audit events', () => {
      it('lists an organization’s events newest first, before a time, and deletes them', async () => {
        const store = await subject.create()
        const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds))
        const event = (organizationId: string, seconds: number): AuditEvent => ({
          id: unique('event'),
          type: 'login.succeeded',
          organizationId,
          accountId: null,
          clientAddress: '203.0.113.9',
          at: at(seconds),
          details: { n: seconds },
        })
        for (const seconds of [1, 2, 3]) await store.insertAuditEvent(event('org-a', seconds))
        await store.insertAuditEvent(event('org-b', 4))
        expect((await store.listAuditEvents('org-a', { limit: 10 })).map((e) => e.details.n)).toEqual([3, 2, 1])
        expect((await store.listAuditEvents('org-a', { limit: 1 })).map((e) => e.details.n)).toEqual([3])
        expect((await store.listAuditEvents('org-a', { limit: 10, before: at(3) })).map((e) => e.details.n)).toEqual([
          2, 1,
        ])
        await store.deleteAuditEvents('org-a')
        expect(await store.listAuditEvents('org-a', { limit: 10 })).toEqual([])
        expect(await store.listAuditEvents('org-b', { limit: 10 })).toHaveLength(1)
      })
    })

    describe('audit paging', () => {
      it('pages through events that share a millisecond without skipping or repeating any', async () => {
        const store = await subject.create()
        const sameInstant = new Date(Date.UTC(2026, 0, 1))
        const ids: string[] = []
        for (let i = 0; i < 7; i++) {
          const id = unique('event')
          ids.push(id)
          await store.insertAuditEvent({
            id,
            type: 'login.succeeded',
            organizationId: 'org-a',
            accountId: null,
            clientAddress: null,
            at: sameInstant,
            details: {},
          })
        }
        const seen: string[] = []
        let after: { at: Date; id: string } | undefined
        for (;;) {
          const page = await store.listAuditEvents('org-a', { limit: 3, after })
          seen.push(...page.map((event) => event.id))
          if (page.length < 3) break
          after = page.at(-1)
        }
        expect([...seen].sort()).toEqual([...ids].sort())
        expect(new Set(seen).size).toBe(7)
      })
    })

    describe('tenant data', () => {
      it('gives each organization a data space of its own', async () => {
        const store = await subject.create()
        const [one, two] = [organization(), organization()]
        for (const org of [one, two]) await store.provisionTenantData(org)
        await write(store.collection(one, 'notes'), 'one')
        await write(store.collection(two, 'notes'), 'two')
        await write(store.collection(two, 'invoices'), 'two’s invoice')
        expect(await read(store.collection(one, 'notes'))).toEqual(['one'])
        expect(await read(store.collection(two, 'notes'))).toEqual(['two'])
        expect(await read(store.collection(one, 'invoices'))).toEqual([])
        expect(await read(store.collection(two, 'invoices'))).toEqual(['two’s invoice'])
        expect(await store.listTenantDataKeys()).toEqual(expect.arrayContaining([keyOf(one), keyOf(two)]))
      })

      it('provisions and drops idempotently, and a dropped space is gone with its data', async () => {
        const store = await subject.create()
        const org = organization()
        await store.provisionTenantData(org)
        await write(store.collection(org, 'notes'), 'kept')
        await write(store.collection(org, 'invoices'), 'kept too')
        await store.provisionTenantData(org)
        expect(await read(store.collection(org, 'notes'))).toEqual(['kept'])
        await store.dropTenantData(org)
        await store.dropTenantData(org)
        expect(await store.listTenantDataKeys()).not.toContain(keyOf(org))
        // A store may refuse the handle outright or hand out one to an empty space.
        for (const name of ['notes', 'invoices']) {
          let handle: TenantCollection | undefined
          try {
            handle = store.collection(org, name)
          } catch (err) {
            expect(err).toBeInstanceOf(OrganizationNotFoundError)
          }
          if (handle !== undefined) expect(await read(handle)).toEqual([])
        }
      })

      it('enforces a declared unique index within each tenant, and not across tenants', async () => {
        const store = await subject.create()
        const [one, two] = [organization(), organization()]
        for (const org of [one, two]) await store.provisionTenantData(org)
        await store.collection(one, 'invoices').insertOne({ number: 1 })
        await store.collection(two, 'invoices').insertOne({ number: 1 })
        await expect(store.collection(one, 'invoices').insertOne({ number: 1 })).rejects.toThrow()
        expect(await store.collection(one, 'invoices').countDocuments()).toBe(1)
      })

      it('lists every organization in id order, resumably', async () => {
        const store = await subject.create()
        const orgs = [organization(), organization({ state: 'provisioning' }), organization()]
        for (const org of orgs) await store.insertOrganization(org)
        const listed: string[] = []
        for await (const org of store.listOrganizations()) listed.push(org.id)
        const ids = orgs.map((org) => org.id).sort()
        expect(listed).toEqual(ids)
        const rest: string[] = []
        for await (const org of store.listOrganizations({ afterId: ids[0] })) rest.push(org.id)
        expect(rest).toEqual(ids.slice(1))
      })
    })

    describe('the organization lifecycle over it', () => {
      async function setUp(inFlightTimeoutMs = 60_000) {
        const failing = failingStore(await subject.create())
        const tenancy = createTenancy({ store: failing.store, auth: TEST_AUTH, inFlightTimeoutMs })
        return { failing, tenancy, store: failing.store }
      }

      async function expectNoTrace(store: TenantStore, name: string, email: string, keysBefore: string[]) {
        expect(await store.findOrganization({ nameKey: name.toLowerCase() })).toBeNull()
        expect(await store.findAccount({ email })).toBeNull()
        expect((await store.listTenantDataKeys()).sort()).toEqual([...keysBefore].sort())
      }

      const createSteps: StoreStep[] = [
        'insertOrganization',
        'insertAccount',
        'provisionTenantData',
        'transitionOrganization',
      ]
      for (const step of createSteps) {
        it(`leaves no trace of an organization whose create fails in ${step}`, async () => {
          const { failing, tenancy, store } = await setUp()
          await tenancy.orgs.create({ name: 'Bystander', email: 'by@x.test', password: PASSWORD })
          const keysBefore = await store.listTenantDataKeys()
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

      for (const step of ['insertAccount', 'provisionTenantData'] as StoreStep[]) {
        it(`keeps a create that failed in ${step} and then failed to clean up invisible, and recovers it once stale`, async () => {
          const { failing, tenancy, store } = await setUp(0)
          const keysBefore = await store.listTenantDataKeys()
          failing.failNext(step)
          failing.failNext('deleteOrganization')
          await expect(
            tenancy.orgs.create({ name: 'Crashed', email: 'crash@x.test', password: PASSWORD }),
          ).rejects.toBeInstanceOf(InjectedFailure)
          expect(await tenancy.orgs.get('Crashed')).toBeNull()
          await expect(tenancy.auth.login({ email: 'crash@x.test', password: PASSWORD })).rejects.toMatchObject({
            code: 'INVALID_CREDENTIALS',
          })
          // The next claim of the name finishes the undo and takes it.
          await tenancy.orgs.create({ name: 'Crashed', email: 'crash@x.test', password: PASSWORD })
          expect((await store.listTenantDataKeys()).length).toBe(keysBefore.length + 1)
        })
      }

      it('recovers at start-up: stale in-flight organizations go, orphaned data spaces are dropped, live ones stay', async () => {
        const { tenancy, store } = await setUp(0)
        const tenant = await acmeWithNote(tenancy)
        const stuck = organization({ state: 'provisioning', stateChangedAt: new Date(Date.now() - 1000) })
        await store.insertOrganization(stuck)
        await store.provisionTenantData(stuck)
        const orphan = organization()
        await store.provisionTenantData(orphan)
        expect(await tenancy.recover()).toEqual({
          organizationsRemoved: 1,
          orphanDataSpacesDropped: 1,
          orphanMembershipsRemoved: 0,
        })
        expect(await store.findOrganization({ id: stuck.id })).toBeNull()
        const keys = await store.listTenantDataKeys()
        expect(keys).not.toContain(keyOf(stuck))
        expect(keys).not.toContain(keyOf(orphan))
        expect(
          await read(
            (
              await tenancy.registry.resolve(
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
        await store.insertOrganization(legacy as OrganizationRecord)
        await store.provisionTenantData(legacy as OrganizationRecord)
        await tenancy.migrate()
        expect((await store.findOrganization({ id: legacy.id! }))!.slug).toBe('legacy-corp')
        expect((await tenancy.tenant({ slug: 'legacy-corp' })).id).toBe(legacy.id)
      })

      it('does not take over a name whose create is still in flight', async () => {
        const { tenancy, store } = await setUp(60_000)
        await store.insertOrganization(organization({ name: 'Busy', nameKey: 'busy', state: 'provisioning' }))
        await expect(
          tenancy.orgs.create({ name: 'Busy', email: 'busy@x.test', password: PASSWORD }),
        ).rejects.toBeInstanceOf(OrganizationNameTakenError)
      })

      async function acmeWithNote(tenancy: ReturnType<typeof createTenancy>): Promise<MemberTenant> {
        await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
        const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
        const tenant = await tenancy.registry.resolve(accessToken)
        await write(tenant.collection('notes'), 'precious')
        return tenant
      }

      it('renames without moving or losing data', async () => {
        const { tenancy } = await setUp()
        const tenant = await acmeWithNote(tenancy)
        await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
        const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
        const renamed = await tenancy.registry.resolve(accessToken)
        expect(renamed.name).toBe('Acme Renamed')
        expect(await read(renamed.collection('notes'))).toEqual(['precious'])
      })

      it('undoes the rename when the credential change that came with it fails', async () => {
        const { failing, tenancy } = await setUp()
        const tenant = await acmeWithNote(tenancy)
        failing.failNext('updateAccount')
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
        const org = (await store.findOrganization({ id: tenant.id }))!
        await tenancy.orgs.addDomain(tenant.id, 'shop.acme.com')
        await tenancy.orgs.create({ name: 'Globex', email: 'both@x.test', password: PASSWORD })
        const { token } = await tenancy.invitations.invite(tenant, { email: 'both@x.test', role: 'member' })
        await tenancy.invitations.accept({ token, password: PASSWORD })
        await tenancy.invitations.invite(tenant, { email: 'pending@x.test', role: 'member' })
        await tenancy.orgs.delete(tenant, 'Acme')
        expect(await store.listMemberships({ organizationId: tenant.id })).toEqual([])
        expect(await store.listInvitations(tenant.id)).toEqual([])
        // The account's membership elsewhere stays, and it still logs in there.
        expect(await tenancy.auth.login({ email: 'both@x.test', password: PASSWORD })).toMatchObject({
          tokenType: 'Bearer',
        })
        expect(await store.findOrganization({ id: tenant.id })).toBeNull()
        expect(await store.findDomain('shop.acme.com')).toBeNull()
        expect(await store.findOrganization({ slug: 'acme' })).toBeNull()
        expect(await store.findAccount({ id: tenant.member.accountId })).toBeNull()
        expect(await store.listTenantDataKeys()).not.toContain(keyOf(org))
      })

      it('keeps an organization whose data drop failed deleting, never back in service with part of its data, and recover() finishes it', async () => {
        const { failing, tenancy, store } = await setUp(0)
        const tenant = await acmeWithNote(tenancy)
        const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
        failing.failNext('dropTenantData')
        await expect(tenancy.orgs.delete(tenant, 'Acme')).rejects.toBeInstanceOf(InjectedFailure)
        await expect(tenancy.registry.resolve(accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
        await expect(tenancy.tenant({ id: tenant.id })).rejects.toBeInstanceOf(OrganizationNotFoundError)
        expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 1 })
        expect(await store.findOrganization({ id: tenant.id })).toBeNull()
        expect(await store.listTenantDataKeys()).toEqual([])
      })

      for (const step of [
        'dropTenantData',
        'deleteDomains',
        'deleteMemberships',
        'deleteOrganization',
      ] as StoreStep[]) {
        it(`finishes a delete that failed in ${step} the next time its name is claimed`, async () => {
          const { failing, tenancy, store } = await setUp(0)
          const tenant = await acmeWithNote(tenancy)
          const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
          failing.failNext(step)
          await expect(tenancy.orgs.delete(tenant, 'Acme')).rejects.toBeInstanceOf(InjectedFailure)
          await expect(tenancy.registry.resolve(accessToken)).rejects.toMatchObject({ code: 'TOKEN_INVALID' })
          expect(await tenancy.orgs.get('Acme')).toBeNull()
          await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
          expect(await store.findAccount({ id: tenant.member.accountId })).toBeNull()
          const fresh = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
          expect(await read((await tenancy.registry.resolve(fresh.accessToken)).collection('notes'))).toEqual([])
        })
      }
    })
    describeAmbiguousFailures(subject)
  })
}
