import type { Accounts } from '../auth/accounts.js'
import type { Member } from '../control/organization-types.js'
import { createHash, randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { AuditLog } from '../control/audit-log.js'
import type { Auth } from '../auth/auth.js'
import type { IssuedTokens } from '../auth/tokens.js'
import { removeAccountIfUnused } from '../auth/unused-account.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { runAsTenant } from '../context/tenant-context.js'
import { tenantOf } from '../context/mint-tenant.js'
import {
  EmailTakenError,
  AlreadyMemberError,
  InvitationInvalidError,
  InvitationNotFoundError,
  OrganizationNotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '../errors.js'
import * as fields from '../lib/fields.js'
import { newId } from '../lib/ids.js'
import { parseInput } from '../lib/parse-input.js'
import type { Store } from '../store.js'
import type { AccountRecord, InvitationRecord, MembershipRecord } from '../control/records.js'
import type { MemberTenant } from '../tenant.js'
import { loadCaller } from './caller.js'
import type { Limits } from './limits.js'
import type { Roles } from './roles.js'

/** An invitation as callers see it: never its token or the token's hash. */
export interface Invitation {
  id: string
  organizationId: string
  email: string
  role: string
  invitedBy: string
  createdAt: Date
  expiresAt: Date
}

/** `createTenancy({ invitations })`. */
export interface InvitationOptions {
  /** How long an invitation can be accepted, in seconds. Default 7 days. */
  lifetimeSeconds?: number
  /**
   * Called with each new invitation and its token, the only time the token exists in clear:
   * email it (tenantry sends no mail). Runs inside `tenancy.run` for the organization. A throw
   * cancels the invitation and fails the request, so no invitation exists that nobody was told of.
   */
  onInvitation?: (invitation: Invitation, token: string) => unknown
  /**
   * A host user accepts only an invitation sent to their own email (trimmed, ASCII only, equal
   * ignoring ASCII case; no Unicode folding, so `\u212Aate@…` is not `kate@…`), as
   * `identify` or `accept({ subject, email })` gives it. Default `true`; `false` for an app whose
   * invitation tokens are delivered to the right person some other way.
   */
  matchEmail?: boolean
}

// Checked before the lookup, to spare the store junk.
// Stryker disable next-line Regex: another shape finds no invitation
const TOKEN = /^[A-Za-z0-9_-]{43}$/
const inviteSchema = z.object({ email: fields.email, role: z.string().min(1).max(32) })
const acceptSchema = z.union([
  z.object({ token: z.string().max(200), password: z.string().max(1024) }),
  z.object({ token: z.string().max(200), subject: z.string().trim().min(1).max(256), email: fields.email.optional() }),
])

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex')

/**
 * Invitations: a member with `members:invite` invites an email with a role below their own; the
 * invitee accepts with the token (256 random bits, shown once, stored only hashed) and a
 * password: a new account's, or their existing account's own. Accepting is winning one
 * conditional delete, so an invitation is used at most once however many accept it at once.
 */
export class Invitations {
  readonly #store: Store
  readonly #auth: Auth
  readonly #audit: AuditLog
  readonly #cache: TenantCache
  readonly #roles: Roles
  readonly #lifetimeMs: number
  readonly #onInvitation: InvitationOptions['onInvitation']
  readonly #matchEmail: boolean
  readonly #accounts: Accounts
  readonly #limits: Limits

  constructor(
    store: Store,
    auth: Auth,
    options: {
      audit: AuditLog
      cache: TenantCache
      roles: Roles
      accounts: Accounts
      limits: Limits
      invitations: InvitationOptions | undefined
    },
  ) {
    const { lifetimeSeconds = 7 * 24 * 3600, onInvitation, matchEmail = true } = options.invitations ?? {}
    if (typeof matchEmail !== 'boolean') throw new TypeError('tenantry: invitations.matchEmail must be a boolean')
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0)
      throw new TypeError('tenantry: invitations.lifetimeSeconds must be a positive whole number of seconds')
    if (onInvitation !== undefined && typeof onInvitation !== 'function')
      throw new TypeError('tenantry: invitations.onInvitation must be a function')
    this.#store = store
    this.#auth = auth
    this.#audit = options.audit
    this.#cache = options.cache
    this.#roles = options.roles
    this.#lifetimeMs = lifetimeSeconds * 1000
    this.#onInvitation = onInvitation
    this.#matchEmail = matchEmail
    this.#accounts = options.accounts
    this.#limits = options.limits
  }

  /**
   * Invites `email` with `role`. Needs `members:invite` and a role below the caller's own (the
   * owner may invite to any role but `owner`). Re-inviting an email replaces its pending
   * invitation; an email that already has a membership here is `AlreadyMemberError`.
   */
  async invite(
    tenant: Pick<MemberTenant, 'id' | 'member'>,
    input: { email: string; role: string },
  ): Promise<{ invitation: Invitation; token: string }> {
    const { email, role } = parseInput(inviteSchema, input)
    const caller = await loadCaller(this.#store, tenant)
    if (!this.#roles.can(caller.role, 'members:invite'))
      throw new PermissionDeniedError('this needs the members:invite permission')
    if (!this.#roles.assignable(role))
      throw new ValidationError([
        {
          pointer: '#/role',
          detail: role === 'owner' ? 'ownership moves only by transfer' : 'is not a role of this app',
        },
      ])
    if (!this.#roles.mayManage(caller.role, role))
      throw new PermissionDeniedError(`a ${caller.role} may not invite a ${role}`)
    const account = await this.#store.records.accounts.find({ email })
    if (
      account &&
      (await this.#store.records.memberships.find({ accountId: account.id, organizationId: caller.org.id }))
    )
      throw new AlreadyMemberError('this email is already a member of the organization')

    const previous = (await this.#store.records.invitations.list(caller.org.id)).find(
      (invitation) => invitation.email === email,
    )
    if (previous && (await this.#store.records.invitations.delete(previous.id, caller.org.id))) {
      await this.#audit.record({
        type: 'invitation.cancelled',
        organizationId: caller.org.id,
        accountId: caller.membership.accountId,
        details: { invitationId: previous.id, reason: 'reinvited' },
      })
    }
    const token = randomBytes(32).toString('base64url')
    const now = Date.now()
    const record: InvitationRecord = {
      id: newId(),
      organizationId: caller.org.id,
      email,
      role,
      tokenHash: hashToken(token),
      invitedBy: caller.membership.accountId,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.#lifetimeMs),
    }
    await this.#limits.insertInvitation(record)
    const invitation = toInvitation(record)
    if (this.#onInvitation) {
      try {
        await runAsTenant(tenantOf(caller.org, this.#store), () =>
          this.#onInvitation!(structuredClone(invitation), token),
        )
      } catch (err) {
        await this.#store.records.invitations.delete(record.id, caller.org.id).catch(() => {})
        throw err
      }
    }
    await this.#audit.record({
      type: 'member.invited',
      organizationId: caller.org.id,
      accountId: caller.membership.accountId,
      details: { invitationId: record.id, role },
    })
    return { invitation, token }
  }

  /** The organization's pending invitations (expired ones left out), oldest first. Needs `members:read`. */
  async list(tenant: Pick<MemberTenant, 'id' | 'member'>): Promise<Invitation[]> {
    const caller = await loadCaller(this.#store, tenant)
    if (!this.#roles.can(caller.role, 'members:read'))
      throw new PermissionDeniedError('this needs the members:read permission')
    const now = Date.now()
    return (await this.#store.records.invitations.list(caller.org.id))
      .filter((invitation) => invitation.expiresAt.getTime() > now)
      .map(toInvitation)
  }

  /** Cancels a pending invitation of the caller's organization. Needs `members:invite`. One of another organization is not found. */
  async cancel(tenant: Pick<MemberTenant, 'id' | 'member'>, id: string): Promise<void> {
    const input = parseInput(z.object({ id: z.string().min(1).max(200) }), { id })
    const caller = await loadCaller(this.#store, tenant)
    if (!this.#roles.can(caller.role, 'members:invite'))
      throw new PermissionDeniedError('this needs the members:invite permission')
    if (!(await this.#store.records.invitations.delete(input.id, caller.org.id)))
      throw new InvitationNotFoundError('this organization has no pending invitation with this id')
    await this.#audit.record({
      type: 'invitation.cancelled',
      organizationId: caller.org.id,
      accountId: caller.membership.accountId,
      details: { invitationId: input.id },
    })
  }

  /**
   * Accepts an invitation, with one of two credentials:
   * - `{ token, password }`: the account of the invitation's email must have this password, or,
   *   with none, one is made with it; answers a token pair for the organization, as a login does.
   * - `{ token, subject, email? }`: the host app's signed-in user joins (their account linked as
   *   `tenancy.accounts.link` does); unless `invitations.matchEmail` is off, only when `email` is
   *   the invitation's.
   * Unknown, used, cancelled or expired tokens and wrong credentials are `InvitationInvalidError`
   * (401); a deleted organization is `OrganizationNotFoundError`. Throttled per email and client
   * address like a login.
   */
  accept(
    input: { token: string; password: string },
    context?: { clientAddress?: string },
  ): Promise<{ organizationId: string; member: Member; tokens: IssuedTokens }>
  accept(
    input: { token: string; subject: string; email?: string },
    context?: { clientAddress?: string },
  ): Promise<{ organizationId: string; member: Member }>
  async accept(
    input: { token: string; password: string } | { token: string; subject: string; email?: string },
    context: { clientAddress?: string } = {},
  ): Promise<{ organizationId: string; member: Member; tokens?: IssuedTokens }> {
    const parsed = parseInput(acceptSchema, input)
    const invitation = TOKEN.test(parsed.token)
      ? await this.#store.records.invitations.find({ tokenHash: hashToken(parsed.token) })
      : null
    if (!invitation || invitation.expiresAt.getTime() <= Date.now()) throw new InvitationInvalidError()
    const org = await this.#store.records.organizations.find({ id: invitation.organizationId })
    if (org?.state !== 'active')
      throw new OrganizationNotFoundError('the organization of this invitation no longer exists')
    if (!this.#roles.assignable(invitation.role))
      throw new InvitationInvalidError('the role of this invitation no longer exists')

    // Everything that can refuse (the password, its hashing) happens before the invitation is
    // claimed, and nothing is written before it: a loser of the claim has nothing to undo, so it
    // can never undo what the winner relies on (an account the winner has just joined).
    const now = new Date()
    let existing: AccountRecord | null
    let join: () => Promise<AccountRecord>
    if ('password' in parsed) {
      existing = await this.#auth.verifyCredentials(invitation.email, parsed.password, context)
      if (!existing && (await this.#store.records.accounts.find({ email: invitation.email })))
        throw new InvitationInvalidError()
      const newAccount: AccountRecord = {
        id: newId(),
        email: invitation.email,
        passwordHash: existing ? null : await this.#auth.hashPassword(parsed.password),
        tokenVersion: 0,
        createdAt: now,
        updatedAt: now,
      }
      join = () => this.#insertAccount(newAccount, parsed.password, context)
    } else {
      await this.#auth.countAttempt(invitation.email, context.clientAddress)
      if (this.#matchEmail && parsed.email !== invitation.email)
        throw new InvitationInvalidError('this invitation was sent to another email')
      existing = await this.#store.records.accounts.find({ subject: parsed.subject })
      join = () => this.#accounts.linkRecord({ subject: parsed.subject, email: parsed.email })
    }
    // The one step that decides: of concurrent accepts, exactly one deletes the invitation.
    if (!(await this.#store.records.invitations.delete(invitation.id, org.id))) throw new InvitationInvalidError()
    let membership: MembershipRecord
    let account: AccountRecord | undefined = existing ?? undefined
    try {
      account ??= await join()
      membership = {
        id: newId(),
        accountId: account.id,
        organizationId: org.id,
        role: invitation.role,
        createdAt: now,
        updatedAt: now,
      }
      await this.#limits.insertMembership(membership)
    } catch (err) {
      // Undone so that a failure loses nothing: the invitation is pending again, and the account
      // made for it (its insert may have applied even if it reported an error) goes, unless
      // something joined it meanwhile. If that cannot be told (the listing fails), it stays: an
      // unused account, which a retry of this accept joins, is better than a member without one.
      if (!existing && account) await removeAccountIfUnused(this.#store, this.#cache, account.id).catch(() => {})
      await this.#store.records.invitations.insert(invitation).catch(() => {})
      throw err
    }
    await this.#audit.record({
      type: 'invitation.accepted',
      organizationId: org.id,
      accountId: membership.accountId,
      clientAddress: context.clientAddress ?? null,
      details: { invitationId: invitation.id, memberId: membership.id, role: invitation.role },
    })
    const member: Member = {
      id: membership.id,
      accountId: account.id,
      organizationId: org.id,
      email: account.email,
      role: membership.role,
      createdAt: now,
    }
    const tokens = 'password' in parsed ? await this.#auth.startSession(membership) : undefined
    return { organizationId: org.id, member, ...(tokens ? { tokens } : {}) }
  }

  async #insertAccount(
    account: AccountRecord,
    password: string,
    context: { clientAddress?: string },
  ): Promise<AccountRecord> {
    try {
      await this.#store.records.accounts.insert(account)
      return account
    } catch (err) {
      if (!(err instanceof EmailTakenError)) throw err
      // Inserted from an invitation, so it has the invitation's email.
      const raced = await this.#auth.verifyCredentials(account.email!, password, context)
      if (!raced) throw new InvitationInvalidError()
      return raced
    }
  }
}

function toInvitation(record: InvitationRecord): Invitation {
  return {
    id: record.id,
    organizationId: record.organizationId,
    email: record.email,
    role: record.role,
    invitedBy: record.invitedBy,
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
  }
}
