import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, currentTenant, memoryStore, type Invitation, type MemberTenant } from 'tenantry'
import { failingStore } from 'tenantry/testing'
import { holdNextRead } from '../support/hold-next-read.js'
import { refusal } from '../support/refusal.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

/** Acme with an owner, an editor allowed to invite (a custom role) and a plain member. */
async function acme(
  options: { lifetimeSeconds?: number; store?: ReturnType<typeof memoryStore>; roles?: Record<string, string[]> } = {},
) {
  const sent: { invitation: Invitation; token: string; tenant: string | undefined }[] = []
  const store = options.store ?? memoryStore()
  const tenancy = createTenancy({
    auth: TEST_AUTH,
    store,
    roles: options.roles ?? { editor: ['members:invite'] },
    invitations: {
      lifetimeSeconds: options.lifetimeSeconds,
      onInvitation: (invitation, token) => void sent.push({ invitation, token, tenant: currentTenant()?.id }),
    },
  })
  await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
  const owner = await tenancy.authenticate(
    (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
  )
  const join = async (email: string, role: string): Promise<MemberTenant> => {
    const { token } = await tenancy.invitations.invite(owner, { email, role })
    return tenancy.authenticate((await tenancy.invitations.accept({ token, password: PASSWORD })).tokens.accessToken)
  }
  return { tenancy, store, owner, join, sent, audit: () => tenancy.admin.listAuditEvents(owner.id, { limit: 100 }) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('invitations', () => {
  it('says why it refuses an invitation', async () => {
    const { tenancy, owner, join } = await acme()
    const editor = await join('editor@acme.test', 'editor')
    const member = await join('member@acme.test', 'member')
    const invite = (by: MemberTenant, email: string, role: string) =>
      refusal(tenancy.invitations.invite(by, { email, role }))
    expect(await invite(owner, 'x@acme.test', 'owner')).toBe(
      'VALIDATION_FAILED #/role ownership moves only by transfer',
    )
    expect(await invite(owner, 'x@acme.test', 'auditor')).toBe('VALIDATION_FAILED #/role is not a role of this app')
    expect(await invite(editor, 'x@acme.test', 'admin')).toBe('PERMISSION_DENIED a editor may not invite a admin')
    expect(await invite(member, 'x@acme.test', 'member')).toBe(
      'PERMISSION_DENIED this needs the members:invite permission',
    )
    expect(await invite(owner, 'Member@Acme.test', 'member')).toBe(
      'ALREADY_A_MEMBER this email is already a member of the organization',
    )
    expect(await refusal(tenancy.invitations.list(editor))).toBe(
      'PERMISSION_DENIED this needs the members:read permission',
    )
    expect(await refusal(tenancy.invitations.cancel(member, 'any'))).toBe(
      'PERMISSION_DENIED this needs the members:invite permission',
    )
    expect(await refusal(tenancy.invitations.cancel(owner, 'no-such-invitation'))).toBe(
      'INVITATION_NOT_FOUND this organization has no pending invitation with this id',
    )
  })

  it('invites an account that belongs to another organization, and lets it join with its own password', async () => {
    const { tenancy, owner } = await acme()
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const { token } = await tenancy.invitations.invite(owner, { email: 'g@globex.test', role: 'member' })
    const { organizationId } = await tenancy.invitations.accept({ token, password: PASSWORD })
    expect(organizationId).toBe(owner.id)
    expect(
      await storeOf(tenancy).records.memberships.list({
        accountId: (await storeOf(tenancy).records.accounts.find({ email: 'g@globex.test' }))!.id,
      }),
    ).toHaveLength(2)
  })

  it('hands onInvitation a copy of the invitation and its token, inside the organization’s context, and records the invitation', async () => {
    const { tenancy, owner, sent, audit } = await acme()
    const { invitation, token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    expect(sent).toEqual([{ invitation, token, tenant: owner.id }])
    sent[0]!.invitation.role = 'admin'
    expect((await tenancy.invitations.list(owner))[0]!.role).toBe('member')
    expect((await audit()).find((event) => event.type === 'member.invited')).toMatchObject({
      accountId: owner.member.accountId,
      details: { invitationId: invitation.id, role: 'member' },
    })
  })

  it('replaces the pending invitation of a re-invited email, recording the cancelled one', async () => {
    const { tenancy, owner, audit } = await acme()
    const first = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    await tenancy.invitations.invite(owner, { email: 'other@acme.test', role: 'member' })
    const second = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'editor' })
    expect(
      (await tenancy.invitations.list(owner)).map((invitation) => [invitation.email, invitation.role]).sort(),
    ).toEqual([
      ['new@acme.test', 'editor'],
      ['other@acme.test', 'member'],
    ])
    expect(await refusal(tenancy.invitations.accept({ token: first.token, password: PASSWORD }))).toBe(
      'INVITATION_INVALID the invitation is not valid, or the password is not this account’s',
    )
    expect((await audit()).find((event) => event.type === 'invitation.cancelled')).toMatchObject({
      details: { invitationId: first.invitation.id, reason: 'reinvited' },
    })
    await expect(tenancy.invitations.accept({ token: second.token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
  })

  it('records a cancelled invitation, which can then not be accepted', async () => {
    const { tenancy, owner, audit } = await acme()
    const { invitation, token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    await tenancy.invitations.cancel(owner, invitation.id)
    expect((await audit()).find((event) => event.type === 'invitation.cancelled')).toMatchObject({
      accountId: owner.member.accountId,
      details: { invitationId: invitation.id },
    })
    expect(await refusal(tenancy.invitations.accept({ token, password: PASSWORD }))).toMatch(/^INVITATION_INVALID/)
  })

  it('lasts exactly its lifetime: listed and accepted until its last millisecond, neither from then on', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(new Date('2026-03-01T00:00:00.000Z'))
    const { tenancy, owner } = await acme({ lifetimeSeconds: 60 })
    const early = await tenancy.invitations.invite(owner, { email: 'early@acme.test', role: 'member' })
    const late = await tenancy.invitations.invite(owner, { email: 'late@acme.test', role: 'member' })
    expect(late.invitation.expiresAt.getTime() - late.invitation.createdAt.getTime()).toBe(60_000)
    vi.setSystemTime(new Date('2026-03-01T00:00:59.999Z'))
    expect(await tenancy.invitations.list(owner)).toHaveLength(2)
    await expect(tenancy.invitations.accept({ token: early.token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
    vi.setSystemTime(new Date('2026-03-01T00:01:00.000Z'))
    expect(await tenancy.invitations.list(owner)).toEqual([])
    expect(await refusal(tenancy.invitations.accept({ token: late.token, password: PASSWORD }))).toMatch(
      /^INVITATION_INVALID/,
    )
  })

  it('refuses a token of the wrong shape without looking it up, and a token it never issued', async () => {
    const { tenancy, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    for (const wrong of [token.slice(1), `${token}A`, `${token.slice(0, 42)}=`, 'A'.repeat(43)]) {
      expect(await refusal(tenancy.invitations.accept({ token: wrong, password: PASSWORD }))).toBe(
        'INVITATION_INVALID the invitation is not valid, or the password is not this account’s',
      )
    }
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
  })

  it('refuses an invitation whose organization was deleted or is being deleted, or whose role no longer exists', async () => {
    const { tenancy, store, owner } = await acme({ roles: { editor: ['members:invite'], auditor: ['audit:read'] } })
    const { token } = await tenancy.invitations.invite(owner, { email: 'a@acme.test', role: 'auditor' })
    // The app restarts without the auditor role.
    const restarted = createTenancy({ auth: TEST_AUTH, store, roles: { editor: ['members:invite'] } })
    expect(await refusal(restarted.invitations.accept({ token, password: PASSWORD }))).toBe(
      'INVITATION_INVALID the role of this invitation no longer exists',
    )
    const other = await tenancy.invitations.invite(owner, { email: 'b@acme.test', role: 'member' })
    const third = await tenancy.invitations.invite(owner, { email: 'c@acme.test', role: 'member' })
    // A delete that has claimed the organization and not yet removed its invitations.
    await store.records.organizations.transition(owner.id, { from: ['active'], to: 'deleting' })
    expect(await refusal(tenancy.invitations.accept({ token: other.token, password: PASSWORD }))).toBe(
      'ORGANIZATION_NOT_FOUND the organization of this invitation no longer exists',
    )
    expect(await storeOf(tenancy).records.accounts.find({ email: 'b@acme.test' })).toBeNull()
    await store.records.organizations.transition(owner.id, { from: ['deleting'], to: 'active' })
    await tenancy.orgs.delete(owner, 'Acme')
    expect(await refusal(tenancy.invitations.accept({ token: third.token, password: PASSWORD }))).toMatch(
      /^INVITATION_INVALID/,
    )
  })

  it('refuses a new account’s password that is too short, creating nothing', async () => {
    const { tenancy, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    expect(await refusal(tenancy.invitations.accept({ token, password: 'short' }))).toMatch(
      /^VALIDATION_FAILED #\/password /,
    )
    expect(await storeOf(tenancy).records.accounts.find({ email: 'new@acme.test' })).toBeNull()
    expect(await tenancy.invitations.list(owner)).toHaveLength(1)
  })

  it('makes the new member with the invitation’s role, and records who accepted from where', async () => {
    const { tenancy, owner, audit } = await acme()
    const { invitation, token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'editor' })
    const { tokens } = await tenancy.invitations.accept({ token, password: PASSWORD }, { clientAddress: '203.0.113.9' })
    const joined = await tenancy.authenticate(tokens.accessToken)
    expect(joined.member.role).toBe('editor')
    expect((await audit()).find((event) => event.type === 'invitation.accepted')).toMatchObject({
      accountId: joined.member.accountId,
      clientAddress: '203.0.113.9',
      details: { invitationId: invitation.id, memberId: joined.member.id, role: 'editor' },
    })
  })

  it('refuses bad invitation options at start-up, saying which', () => {
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { lifetimeSeconds: 0 } })).toThrow(
      'tenantry: invitations.lifetimeSeconds must be a positive whole number of seconds',
    )
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { lifetimeSeconds: 1.5 } })).toThrow(
      'tenantry: invitations.lifetimeSeconds must be a positive whole number of seconds',
    )
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { onInvitation: 'mail' as never } })).toThrow(
      'tenantry: invitations.onInvitation must be a function',
    )
    expect(() => createTenancy({ auth: TEST_AUTH, invitations: { lifetimeSeconds: 1 } })).not.toThrow()
  })

  it('lets exactly one of several concurrent accepts by a new account win, making one account', async () => {
    const { tenancy, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => tenancy.invitations.accept({ token, password: PASSWORD })),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results)
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'INVITATION_INVALID' })
    const account = (await storeOf(tenancy).records.accounts.find({ email: 'new@acme.test' }))!
    expect(await storeOf(tenancy).records.memberships.list({ accountId: account.id })).toHaveLength(1)
  })

  it('refuses input past its length limits as invalid, before looking anything up', async () => {
    const { tenancy, owner } = await acme()
    expect(await refusal(tenancy.invitations.accept({ token: 'x'.repeat(201), password: PASSWORD }))).toMatch(
      /^VALIDATION_FAILED #\/token /,
    )
    expect(await refusal(tenancy.invitations.accept({ token: 'x'.repeat(43), password: 'p'.repeat(1025) }))).toMatch(
      /^VALIDATION_FAILED #\/password /,
    )
    expect(await refusal(tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'r'.repeat(33) }))).toMatch(
      /^VALIDATION_FAILED #\/role /,
    )
    expect(await refusal(tenancy.invitations.cancel(owner, 'x'.repeat(201)))).toMatch(/^VALIDATION_FAILED #\/id /)
    expect(await refusal(tenancy.invitations.cancel(owner, ''))).toMatch(/^VALIDATION_FAILED #\/id /)
    expect(await refusal(tenancy.invitations.accept({ token: 'x'.repeat(200), password: PASSWORD }))).toMatch(
      /^INVITATION_INVALID/,
    )
  })

  it('fails an accept with the store’s own error when creating the account fails, leaving the invitation pending', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner } = await acme({ store: failing.store as ReturnType<typeof memoryStore> })
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    failing.failNext('accounts.insert')
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).rejects.toThrow(
      'injected failure in accounts.insert (refused)',
    )
    expect(await tenancy.invitations.list(owner)).toHaveLength(1)
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
  })

  it('leaves alone the account the winning accept made: an accept that loses the race undoes nothing', async () => {
    const { tenancy, store, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    // The first accept has made the account and waits; a second one (a double click) finds that account.
    const { reached, release } = holdNextRead(store, 'accounts.insert')
    const first = tenancy.invitations.accept({ token, password: PASSWORD })
    await reached
    expect(await refusal(tenancy.invitations.accept({ token, password: PASSWORD }))).toMatch(/^INVITATION_INVALID/)
    release()
    await expect(first).resolves.toMatchObject({ organizationId: owner.id })
    const login = await tenancy.auth.login({ email: 'new@acme.test', password: PASSWORD })
    expect((await tenancy.authenticate(login.accessToken)).member.role).toBe('member')
  })

  it('lets exactly one of two concurrent accepts by an existing account win, and the account keeps its other organization', async () => {
    const { tenancy, owner } = await acme()
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const { token } = await tenancy.invitations.invite(owner, { email: 'g@globex.test', role: 'member' })
    const results = await Promise.allSettled([
      tenancy.invitations.accept({ token, password: PASSWORD }),
      tenancy.invitations.accept({ token, password: PASSWORD }),
    ])
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected'])
    for (const organizationName of ['Acme', 'Globex'])
      await expect(
        tenancy.auth.login({ email: 'g@globex.test', password: PASSWORD, organizationName }),
      ).resolves.toHaveProperty('accessToken')
  })

  it('refuses a wrong password for an existing account as an invalid invitation, whatever its length', async () => {
    const { tenancy, owner } = await acme()
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const { token } = await tenancy.invitations.invite(owner, { email: 'g@globex.test', role: 'member' })
    for (const password of ['short', 'a wrong but long enough passphrase']) {
      expect(await refusal(tenancy.invitations.accept({ token, password }))).toBe(
        'INVITATION_INVALID the invitation is not valid, or the password is not this account’s',
      )
    }
    expect(await tenancy.invitations.list(owner)).toHaveLength(1)
  })

  it('joins an account that another organization made for the email while the accept was under way, when the password is its own', async () => {
    const { tenancy, store, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    // The accept has claimed the invitation and is about to make the account when Globex makes one.
    const { reached, release } = holdNextRead(store, 'invitations.delete')
    const accepting = tenancy.invitations.accept({ token, password: PASSWORD })
    await reached
    await tenancy.orgs.create({ name: 'Globex', email: 'new@acme.test', password: PASSWORD })
    release()
    await expect(accepting).resolves.toMatchObject({ organizationId: owner.id })
    const account = (await store.records.accounts.find({ email: 'new@acme.test' }))!
    expect(
      (await store.records.memberships.list({ accountId: account.id }))
        .map((membership) => membership.organizationId)
        .sort(),
    ).toEqual([owner.id, (await tenancy.orgs.get('Globex'))!.id].sort())
  })

  it('refuses an accept whose email was taken meanwhile with another password, leaving the invitation pending and the other account whole', async () => {
    const { tenancy, store, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    const { reached, release } = holdNextRead(store, 'invitations.delete')
    const accepting = tenancy.invitations.accept({ token, password: PASSWORD })
    await reached
    await tenancy.orgs.create({ name: 'Globex', email: 'new@acme.test', password: 'the other holder’s passphrase' })
    release()
    expect(await refusal(accepting)).toMatch(/^INVITATION_INVALID/)
    expect((await tenancy.invitations.list(owner)).map((invitation) => invitation.email)).toEqual(['new@acme.test'])
    await expect(
      tenancy.auth.login({ email: 'new@acme.test', password: 'the other holder’s passphrase' }),
    ).resolves.toHaveProperty('accessToken')
  })

  it('puts the invitation back and removes the new account when adding the membership fails', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner } = await acme({ store: failing.store as ReturnType<typeof memoryStore> })
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    failing.failNext('memberships.insert')
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).rejects.toThrow(
      'injected failure in memberships.insert (refused)',
    )
    expect(await storeOf(tenancy).records.accounts.find({ email: 'new@acme.test' })).toBeNull()
    expect(await tenancy.invitations.list(owner)).toHaveLength(1)
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
  })

  it('refuses an accept that raced the organization’s delete to the end', async () => {
    const { tenancy, store, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    const { reached, release } = holdNextRead(store, 'invitations.find')
    const accepting = tenancy.invitations.accept({ token, password: PASSWORD })
    await reached
    await tenancy.orgs.delete(owner, 'Acme')
    release()
    expect(await refusal(accepting)).toBe('ORGANIZATION_NOT_FOUND the organization of this invitation no longer exists')
    expect(await store.records.accounts.find({ email: 'new@acme.test' })).toBeNull()
  })

  it('lasts seven days unless told otherwise', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'owner@acme.test', password: PASSWORD })).accessToken,
    )
    const { invitation } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    expect(invitation.expiresAt.getTime() - invitation.createdAt.getTime()).toBe(7 * 24 * 3600 * 1000)
  })

  it('puts the invitation back and leaves an existing account whole when adding its membership fails', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner } = await acme({ store: failing.store as ReturnType<typeof memoryStore> })
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const { token } = await tenancy.invitations.invite(owner, { email: 'g@globex.test', role: 'member' })
    failing.failNext('memberships.insert')
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).rejects.toThrow(
      'injected failure in memberships.insert (refused)',
    )
    expect(await tenancy.invitations.list(owner)).toHaveLength(1)
    await expect(tenancy.auth.login({ email: 'g@globex.test', password: PASSWORD })).resolves.toHaveProperty(
      'accessToken',
    )
  })

  it('keeps the new account when another organization’s invitation joined it before this accept failed', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner } = await acme({ store: failing.store as ReturnType<typeof memoryStore> })
    const globex = (await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD }))
      .organization
    const globexOwner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'g@globex.test', password: PASSWORD })).accessToken,
    )
    const acmeInvitation = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    const globexInvitation = await tenancy.invitations.invite(globexOwner, { email: 'new@acme.test', role: 'member' })
    // Acme's accept has made the account; Globex's accept joins it; then Acme's membership fails.
    const { reached, release } = holdNextRead(failing.store, 'accounts.insert')
    const acmeAccept = tenancy.invitations.accept({ token: acmeInvitation.token, password: PASSWORD })
    await reached
    await expect(
      tenancy.invitations.accept({ token: globexInvitation.token, password: PASSWORD }),
    ).resolves.toMatchObject({ organizationId: globex.id })
    failing.failNext('memberships.insert')
    release()
    await expect(acmeAccept).rejects.toThrow('injected failure in memberships.insert (refused)')
    await expect(tenancy.auth.login({ email: 'new@acme.test', password: PASSWORD })).resolves.toHaveProperty(
      'accessToken',
    )
    await expect(
      tenancy.invitations.accept({ token: acmeInvitation.token, password: PASSWORD }),
    ).resolves.toMatchObject({ organizationId: owner.id })
  })

  it('keeps the new account when it cannot tell whether anything joined it, and a retry joins it', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, owner } = await acme({ store: failing.store as ReturnType<typeof memoryStore> })
    const { token } = await tenancy.invitations.invite(owner, { email: 'new@acme.test', role: 'member' })
    failing.failNext('memberships.insert')
    failing.failNext('memberships.list')
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).rejects.toThrow(
      'injected failure in memberships.insert (refused)',
    )
    expect(await storeOf(tenancy).records.accounts.find({ email: 'new@acme.test' })).not.toBeNull()
    await expect(tenancy.invitations.accept({ token, password: PASSWORD })).resolves.toMatchObject({
      organizationId: owner.id,
    })
  })
})
