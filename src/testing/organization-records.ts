import { describe, expect, it } from 'vitest'
import type { RecordStore } from '../control/record-store.js'
import * as errors from '../errors.js'
import { account, organization, stamped, stampedAccount, unique } from './fixtures.js'
import type { RecordStoreUnderTest } from './subjects.js'

const { EmailTakenError, DomainTakenError, SlugTakenError, OrganizationNameTakenError, SubjectTakenError } = errors

/** Organizations, accounts and domains: lookups, unique keys under concurrency, conditional writes. */
export function describeOrganizationRecords(subject: RecordStoreUnderTest<RecordStore>): void {
  describe('records', () => {
    it('answers null, not an error, for records that do not exist', async () => {
      const records = await subject.create()
      expect(await records.organizations.find({ id: 'missing' })).toBeNull()
      expect(await records.organizations.find({ nameKey: 'missing' })).toBeNull()
      expect(await records.accounts.find({ id: 'missing' })).toBeNull()
      expect(await records.accounts.find({ email: 'missing@x.test' })).toBeNull()
      expect(await records.organizations.update('missing', { name: 'x' })).toBeNull()
      expect(await records.accounts.update('missing', { email: 'x@x.test' })).toBeNull()
    })

    it('finds an organization by id and by name key, and an admin by id and by email', async () => {
      const records = await subject.create()
      const org = organization()
      const first = account()
      await records.organizations.insert(org)
      await records.accounts.insert(first)
      expect(await records.organizations.find({ id: org.id })).toEqual(stamped(org))
      expect(await records.organizations.find({ nameKey: org.nameKey })).toEqual(stamped(org))
      expect(await records.accounts.find({ id: first.id })).toEqual(stampedAccount(first))
      expect(await records.accounts.find({ email: first.email! })).toEqual(stampedAccount(first))
    })

    it('hands out copies, so changing a returned record changes nothing stored', async () => {
      const records = await subject.create()
      const org = organization()
      await records.organizations.insert(org)
      org.name = 'mutated after insert'
      const found = (await records.organizations.find({ id: org.id }))!
      found.state = 'deleting'
      expect((await records.organizations.find({ id: org.id }))!.state).toBe('active')
      expect((await records.organizations.find({ id: org.id }))!.name).not.toBe('mutated after insert')
    })

    it('refuses a second organization with a taken name key, on insert and on rename', async () => {
      const records = await subject.create()
      const first = organization()
      const second = organization()
      await records.organizations.insert(first)
      await records.organizations.insert(second)
      await expect(records.organizations.insert(organization({ nameKey: first.nameKey }))).rejects.toBeInstanceOf(
        OrganizationNameTakenError,
      )
      await expect(
        records.organizations.update(second.id, { name: 'x', nameKey: first.nameKey }),
      ).rejects.toBeInstanceOf(OrganizationNameTakenError)
      expect((await records.organizations.find({ id: second.id }))!.nameKey).toBe(second.nameKey)
    })

    it('frees the old name key on rename', async () => {
      const records = await subject.create()
      const org = organization()
      await records.organizations.insert(org)
      await records.organizations.update(org.id, { name: 'Renamed', nameKey: `${org.nameKey}-renamed` })
      expect(await records.organizations.find({ nameKey: org.nameKey })).toBeNull()
      await records.organizations.insert(organization({ nameKey: org.nameKey }))
    })

    it('updates an admin only while its hash is the one expected, when asked to', async () => {
      const records = await subject.create()
      const one = account()
      await records.accounts.insert(one)
      expect(
        await records.accounts.update(one.id, { passwordHash: '$2b$05$other' }, { passwordHash: '$2b$04$stale' }),
      ).toBeNull()
      expect((await records.accounts.find({ id: one.id }))!.passwordHash).toBe(one.passwordHash)
      expect(
        await records.accounts.update(one.id, { passwordHash: '$2b$05$new' }, { passwordHash: one.passwordHash }),
      ).toMatchObject({ passwordHash: '$2b$05$new' })
    })

    it('refuses a taken admin email across organizations, on insert and on update', async () => {
      const records = await subject.create()
      const one = account()
      const two = account()
      await records.accounts.insert(one)
      await records.accounts.insert(two)
      await expect(records.accounts.insert(account({ email: one.email }))).rejects.toBeInstanceOf(EmailTakenError)
      await expect(records.accounts.update(two.id, { email: one.email })).rejects.toBeInstanceOf(EmailTakenError)
      expect((await records.accounts.find({ id: two.id }))!.email).toBe(two.email)
    })

    it('finds a host user’s account by subject, and keeps subjects unique under twenty concurrent inserts', async () => {
      const records = await subject.create()
      const linked = account({ subject: unique('user'), email: null, passwordHash: null })
      await records.accounts.insert(linked)
      expect(await records.accounts.find({ subject: linked.subject! })).toEqual(stampedAccount(linked))
      expect(await records.accounts.find({ subject: 'nobody' })).toBeNull()
      const contested = unique('user')
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => records.accounts.insert(account({ subject: contested, email: null }))),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SubjectTakenError)
    })

    it('lets any number of accounts be without an email, and password accounts be without a subject', async () => {
      const records = await subject.create()
      const withoutEmail = [
        account({ subject: unique('user'), email: null }),
        account({ subject: unique('user'), email: null }),
      ]
      const withoutSubject = [account(), account()]
      for (const one of [...withoutEmail, ...withoutSubject]) await records.accounts.insert(one)
      for (const one of [...withoutEmail, ...withoutSubject])
        expect(await records.accounts.find({ id: one.id })).toEqual(stampedAccount(one))
      await records.accounts.update(withoutEmail[0]!.id, { email: 'now@x.test' })
      expect(await records.accounts.find({ email: 'now@x.test' })).toMatchObject({ id: withoutEmail[0]!.id })
    })

    it('suspends and resumes an organization only from the state it is in, and lists it while suspended', async () => {
      const records = await subject.create()
      const org = organization()
      await records.organizations.insert(org)
      expect(await records.organizations.transition(org.id, { from: ['suspended'], to: 'active' })).toBeNull()
      expect(await records.organizations.transition(org.id, { from: ['active'], to: 'suspended' })).toMatchObject({
        state: 'suspended',
      })
      expect((await records.organizations.find({ slug: org.slug }))!.state).toBe('suspended')
      const listed: string[] = []
      for await (const one of records.organizations.list()) listed.push(`${one.id}:${one.state}`)
      expect(listed).toContain(`${org.id}:suspended`)
      expect(await records.organizations.transition(org.id, { from: ['suspended'], to: 'active' })).toMatchObject({
        state: 'active',
      })
    })

    it('lets exactly one of twenty concurrent inserts of one name key win', async () => {
      const records = await subject.create()
      const nameKey = unique('race')
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => records.organizations.insert(organization({ nameKey }))),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(OrganizationNameTakenError)
    })

    it('deletes only the given account, and deletes idempotently', async () => {
      const records = await subject.create()
      const keep = account()
      const drop = account()
      await records.accounts.insert(keep)
      await records.accounts.insert(drop)
      await records.accounts.delete(drop.id)
      await records.accounts.delete(drop.id)
      await records.organizations.delete('never-existed')
      expect(await records.accounts.find({ id: drop.id })).toBeNull()
      expect(await records.accounts.find({ email: drop.email! })).toBeNull()
      expect(await records.accounts.find({ id: keep.id })).toEqual(stampedAccount(keep))
    })

    it('measures an account’s age from when the store wrote it, by the store’s clock, whatever createdAt it was handed', async () => {
      const records = await subject.create()
      // A caller whose clock runs an hour fast (or slow) must not make a new account look stale.
      const hourAgo = new Date(Date.now() - 3_600_000)
      const young = account({ createdAt: hourAgo })
      await records.accounts.insert(young)
      const stored = await records.accounts.find({ id: young.id })
      expect(Math.abs(stored!.createdAt.getTime() - Date.now())).toBeLessThan(60_000)
      expect(await records.accounts.delete(young.id, { staleForMs: 600_000 })).toBe(false)
      expect(await records.accounts.find({ id: young.id })).not.toBeNull()
      expect(await records.accounts.delete(young.id, { staleForMs: 0 })).toBe(true)
      expect(await records.accounts.delete(young.id)).toBe(false)
      expect(await records.accounts.find({ id: young.id })).toBeNull()
    })

    it('lists every organization in id order, resumably', async () => {
      const records = await subject.create()
      const orgs = [organization(), organization({ state: 'provisioning' }), organization()]
      for (const org of orgs) await records.organizations.insert(org)
      const listed: string[] = []
      for await (const org of records.organizations.list()) listed.push(org.id)
      const ids = orgs.map((org) => org.id).sort()
      expect(listed).toEqual(ids)
      const rest: string[] = []
      for await (const org of records.organizations.list({ afterId: ids[0] })) rest.push(org.id)
      expect(rest).toEqual(ids.slice(1))
    })
  })

  describe('slugs and domains', () => {
    it('finds an organization by slug, and tells a taken slug from a taken name', async () => {
      const records = await subject.create()
      const org = organization()
      await records.organizations.insert(org)
      expect(await records.organizations.find({ slug: org.slug })).toEqual(stamped(org))
      await expect(records.organizations.insert(organization({ slug: org.slug }))).rejects.toBeInstanceOf(
        SlugTakenError,
      )
      await expect(records.organizations.insert(organization({ nameKey: org.nameKey }))).rejects.toBeInstanceOf(
        OrganizationNameTakenError,
      )
    })

    it('refuses a taken slug on update, changing nothing, and frees the old slug on a reslug', async () => {
      const records = await subject.create()
      const first = organization()
      const second = organization()
      await records.organizations.insert(first)
      await records.organizations.insert(second)
      await expect(
        records.organizations.update(second.id, { slug: first.slug, name: 'changed' }),
      ).rejects.toBeInstanceOf(SlugTakenError)
      expect(await records.organizations.find({ id: second.id })).toEqual(stamped(second))
      await records.organizations.update(first.id, { slug: `${first.slug}-new` })
      expect(await records.organizations.find({ slug: first.slug })).toBeNull()
      await records.organizations.insert(organization({ slug: first.slug }))
    })

    it('lets exactly one of twenty concurrent inserts of one slug win', async () => {
      const records = await subject.create()
      const slug = unique('race').toLowerCase()
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => records.organizations.insert(organization({ slug }))),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SlugTakenError)
    })

    it('keeps domains unique, lists them in order, and removes them only for their holder', async () => {
      const records = await subject.create()
      const now = new Date()
      await records.domains!.insert({ domain: 'b.acme.com', organizationId: 'org-1', createdAt: now })
      await records.domains!.insert({ domain: 'a.acme.com', organizationId: 'org-1', createdAt: now })
      await records.domains!.insert({ domain: 'globex.com', organizationId: 'org-2', createdAt: now })
      await expect(
        records.domains!.insert({ domain: 'a.acme.com', organizationId: 'org-2', createdAt: now }),
      ).rejects.toBeInstanceOf(DomainTakenError)
      expect(await records.domains!.find('a.acme.com')).toEqual({
        domain: 'a.acme.com',
        organizationId: 'org-1',
        createdAt: now,
      })
      expect(await records.domains!.find('nobody.com')).toBeNull()
      expect((await records.domains!.list('org-1')).map((record) => record.domain)).toEqual([
        'a.acme.com',
        'b.acme.com',
      ])
      expect(await records.domains!.delete('a.acme.com', 'org-2')).toBe(false)
      expect(await records.domains!.delete('a.acme.com', 'org-1')).toBe(true)
      expect(await records.domains!.delete('a.acme.com', 'org-1')).toBe(false)
      await records.domains!.deleteByOrganization('org-1')
      await records.domains!.deleteByOrganization('org-1')
      expect(await records.domains!.list('org-1')).toEqual([])
      expect(await records.domains!.find('globex.com')).not.toBeNull()
    })

    it('lets exactly one of twenty concurrent claims of one domain win', async () => {
      const records = await subject.create()
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          records.domains!.insert({ domain: 'contested.com', organizationId: `org-${i}`, createdAt: new Date() }),
        ),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(DomainTakenError)
    })
  })
}
