import { describe, expect, it } from 'vitest'
import type { RecordStore } from '../control/record-store.js'
import * as errors from '../errors.js'
import { randomBytes } from 'node:crypto'
import type {
  InvitationRecord,
  MembershipRecord,
  RefreshTokenRecord,
  SessionRecord,
  AuditEvent,
} from '../control/records.js'
import { organization, unique } from './fixtures.js'
import type { RecordStoreUnderTest } from './subjects.js'

const { AlreadyMemberError, InvitationPendingError } = errors

/** Memberships, invitations, sessions, refresh tokens and audit events. */
export function describeMembershipRecords(subject: RecordStoreUnderTest<RecordStore>): void {
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

    it('lists the memberships of several accounts at once, in id order, and of no other account', async () => {
      const records = await subject.create()
      for (const [account, org] of [
        ['acc-1', 'org-1'],
        ['acc-1', 'org-2'],
        ['acc-2', 'org-1'],
        ['acc-3', 'org-1'],
      ])
        await records.memberships.insert(membership(account!, org!))
      const listed = await records.memberships.list({ accountIds: ['acc-1', 'acc-2', 'acc-9'] })
      expect(listed.map((m) => `${m.accountId}/${m.organizationId}`).sort()).toEqual([
        'acc-1/org-1',
        'acc-1/org-2',
        'acc-2/org-1',
      ])
      expect(listed.map((m) => m.id)).toEqual(listed.map((m) => m.id).sort())
      expect(await records.memberships.list({ accountIds: [] })).toEqual([])
    })

    it('keeps one membership per account and organization, even under twenty concurrent inserts', async () => {
      const records = await subject.create()
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => records.memberships.insert(membership('acc-1', 'org-1'))),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(AlreadyMemberError)
      await records.memberships.insert(membership('acc-1', 'org-2'))
      await records.memberships.insert(membership('acc-2', 'org-1'))
      expect((await records.memberships.list({ organizationId: 'org-1' })).map((m) => m.accountId).sort()).toEqual([
        'acc-1',
        'acc-2',
      ])
      expect((await records.memberships.list({ accountId: 'acc-1' })).map((m) => m.organizationId).sort()).toEqual([
        'org-1',
        'org-2',
      ])
      expect(await records.memberships.find({ accountId: 'acc-2', organizationId: 'org-1' })).toMatchObject({
        accountId: 'acc-2',
        organizationId: 'org-1',
      })
    })

    it('changes a role only while it is the one expected, and removes a membership only through its own organization', async () => {
      const records = await subject.create()
      const one = membership('acc-1', 'org-1')
      await records.memberships.insert(one)
      expect(await records.memberships.update(one.id, { role: 'admin' }, { role: 'editor' })).toBeNull()
      expect(await records.memberships.update(one.id, { role: 'admin' }, { role: 'member' })).toMatchObject({
        role: 'admin',
      })
      expect(await records.memberships.delete(one.id, 'org-2')).toBe(false)
      expect(await records.memberships.find({ id: one.id })).not.toBeNull()
      expect(await records.memberships.delete(one.id, 'org-1')).toBe(true)
      expect(await records.memberships.delete(one.id, 'org-1')).toBe(false)
    })

    it('deletes an organization’s memberships and invitations and no one else’s, and walks every membership in id order', async () => {
      const records = await subject.create()
      for (const m of [membership('a', 'org-1'), membership('b', 'org-1'), membership('a', 'org-2')])
        await records.memberships.insert(m)
      for (const i of [invitation('org-1', 'x@x.test'), invitation('org-2', 'x@x.test')])
        await records.invitations.insert(i)
      await records.memberships.deleteByOrganization('org-1')
      await records.invitations.deleteByOrganization('org-1')
      expect(await records.memberships.list({ organizationId: 'org-1' })).toEqual([])
      expect(await records.memberships.list({ accountId: 'a' })).toHaveLength(1)
      expect(await records.invitations.list('org-1')).toEqual([])
      expect(await records.invitations.list('org-2')).toHaveLength(1)
      const walked: string[] = []
      for await (const m of records.memberships.walk()) walked.push(m.id)
      expect(walked).toEqual([...walked].sort())
      expect(walked).toHaveLength(1)
    })

    it('keeps one pending invitation per email and organization, even under twenty concurrent invitations', async () => {
      const records = await subject.create()
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => records.invitations.insert(invitation('org-1', 'same@x.test'))),
      )
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
      for (const result of results)
        if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(InvitationPendingError)
      await records.invitations.insert(invitation('org-2', 'same@x.test'))
      expect(await records.invitations.list('org-1')).toHaveLength(1)
    })

    it('lets exactly one of twenty concurrent deletes of one invitation win, and only through its own organization', async () => {
      const records = await subject.create()
      const pending = invitation('org-1', 'a@x.test')
      await records.invitations.insert(pending)
      expect(await records.invitations.find({ tokenHash: pending.tokenHash })).toEqual(pending)
      expect(await records.invitations.delete(pending.id, 'org-2')).toBe(false)
      const results = await Promise.all(
        Array.from({ length: 20 }, () => records.invitations.delete(pending.id, 'org-1')),
      )
      expect(results.filter(Boolean)).toHaveLength(1)
      expect(await records.invitations.find({ id: pending.id })).toBeNull()
    })

    it('moves ownership only from the owner it expects', async () => {
      const records = await subject.create()
      const org = organization({ ownerId: 'member-1' })
      await records.organizations.insert(org)
      expect(await records.organizations.update(org.id, { ownerId: 'member-3' }, { ownerId: 'member-2' })).toBeNull()
      expect(
        await records.organizations.update(org.id, { ownerId: 'member-2' }, { ownerId: 'member-1' }),
      ).toMatchObject({
        ownerId: 'member-2',
      })
      const results = await Promise.all(
        ['a', 'b', 'c', 'd'].map((to) =>
          records.organizations.update(org.id, { ownerId: to }, { ownerId: 'member-2' }),
        ),
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
      const records = await subject.create()
      const owner = session()
      await records.sessions.insert(owner)
      const refresh = token(owner.id)
      await records.sessions.insertRefreshToken(refresh)
      const results = await Promise.all(
        Array.from({ length: 20 }, () => records.sessions.consumeRefreshToken(refresh.hash, new Date())),
      )
      expect(results.filter((result) => result?.consumed)).toHaveLength(1)
      expect(results.every((result) => result?.token.sessionId === owner.id)).toBe(true)
      expect(await records.sessions.consumeRefreshToken('unknown', new Date())).toBeNull()
    })

    it('lists an account’s live sessions oldest first, and no one else’s', async () => {
      const records = await subject.create()
      const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds))
      const newest = session({ createdAt: at(3) })
      const oldest = session({ accountId: newest.accountId, createdAt: at(1) })
      const middle = session({ accountId: newest.accountId, createdAt: at(2) })
      const expired = session({ accountId: newest.accountId, createdAt: at(0), expiresAt: new Date(Date.now() - 1000) })
      const someoneElse = session({ createdAt: at(0) })
      for (const s of [newest, oldest, expired, someoneElse, middle]) await records.sessions.insert(s)
      expect(await records.sessions.list({ accountId: newest.accountId })).toEqual([oldest, middle, newest])
      expect(await records.sessions.list({ accountId: 'no such account' })).toEqual([])
    })

    it('deletes sessions by id, by account or by organization, with their refresh tokens, and nothing else', async () => {
      const records = await subject.create()
      const [a, b, c] = [session(), session(), session()]
      const sameAdmin = session({ accountId: b.accountId })
      const sameOrg = session({ organizationId: c.organizationId })
      const tokens = new Map<string, RefreshTokenRecord>()
      for (const s of [a, b, c, sameAdmin, sameOrg]) {
        await records.sessions.insert(s)
        tokens.set(s.id, token(s.id))
        await records.sessions.insertRefreshToken(tokens.get(s.id)!)
      }
      await records.sessions.delete({ id: a.id })
      await records.sessions.delete({ accountId: b.accountId })
      await records.sessions.delete({ organizationId: 'no such organization' })
      for (const gone of [a, b, sameAdmin]) {
        expect(await records.sessions.find(gone.id)).toBeNull()
        expect(await records.sessions.consumeRefreshToken(tokens.get(gone.id)!.hash, new Date())).toBeNull()
      }
      expect(await records.sessions.find(c.id)).toEqual(c)
      await records.sessions.delete({ organizationId: c.organizationId })
      expect(await records.sessions.find(c.id)).toBeNull()
      expect(await records.sessions.find(sameOrg.id)).toBeNull()
    })
  })

  describe('audit events', () => {
    it('lists an organization’s events newest first, before a time, and deletes them', async () => {
      const records = await subject.create()
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
      for (const seconds of [1, 2, 3]) await records.audit!.insert(event('org-a', seconds))
      await records.audit!.insert(event('org-b', 4))
      expect((await records.audit!.list('org-a', { limit: 10 })).map((e) => e.details.n)).toEqual([3, 2, 1])
      expect((await records.audit!.list('org-a', { limit: 1 })).map((e) => e.details.n)).toEqual([3])
      expect((await records.audit!.list('org-a', { limit: 10, before: at(3) })).map((e) => e.details.n)).toEqual([2, 1])
      await records.audit!.deleteByOrganization('org-a')
      expect(await records.audit!.list('org-a', { limit: 10 })).toEqual([])
      expect(await records.audit!.list('org-b', { limit: 10 })).toHaveLength(1)
    })
  })

  describe('audit paging', () => {
    it('pages through events that share a millisecond without skipping or repeating any', async () => {
      const records = await subject.create()
      const sameInstant = new Date(Date.UTC(2026, 0, 1))
      const ids: string[] = []
      for (let i = 0; i < 7; i++) {
        const id = unique('event')
        ids.push(id)
        await records.audit!.insert({
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
        const page = await records.audit!.list('org-a', { limit: 3, after })
        seen.push(...page.map((event) => event.id))
        if (page.length < 3) break
        after = page.at(-1)
      }
      expect([...seen].sort()).toEqual([...ids].sort())
      expect(new Set(seen).size).toBe(7)
    })
  })
}
