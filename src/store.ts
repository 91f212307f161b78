import type { TenantCollection } from './data/collection-types.js'

/**
 * The storage contract. The core depends on this interface only; every store (in-memory,
 * MongoDB, later PostgreSQL) implements it and passes the same conformance suite.
 *
 * Each method is one atomic step. The all-or-nothing rules of the organization lifecycle are
 * kept by `OrganizationService`, which orders these steps and compensates on failure, so a store needs no
 * multi-document transactions to be correct. "Not found" is `null`, never an exception.
 *
 * A failed write may still have applied (a timeout, a lost connection, a write-concern error).
 * The core undoes a step only when the store says it certainly did not: a `TenantryError` (a
 * taken name, ...) or any error with `refused: true`. Anything else is "may have applied", and
 * the organization is left in flight for `recover()` rather than guessed about.
 */

/**
 * `provisioning` and `deleting` mark an organization whose create or delete is in flight (or was
 * interrupted by a crash). Only `active` organizations are visible, can log in or scope requests.
 */
export type OrganizationState = 'provisioning' | 'active' | 'deleting'

export interface OrganizationRecord {
  id: string
  /** Display name as given, trimmed. */
  name: string
  /** Uniqueness key: the name trimmed, Unicode-normalized and lower-cased. Stores index it unique. */
  nameKey: string
  /**
   * DNS label naming the organization in URLs (`acme.example.com`): unique, changeable. Records
   * written before slugs existed lack it until `tenancy.migrate()` gives them one.
   */
  slug: string
  /**
   * Stable key the tenant's data space is named after. It never changes, so a rename is a
   * metadata update and never moves data.
   */
  dataKey: string
  /**
   * The membership that owns the organization. Ownership lives here, on one record, so exactly
   * one owner is a fact of the data: a transfer is one conditional write of this field.
   */
  ownerId: string
  state: OrganizationState
  stateChangedAt: Date
  createdAt: Date
  updatedAt: Date
}

/** A custom domain an organization serves on, such as `app.acme.com`. */
export interface DomainRecord {
  /** Normalized: ASCII (IDNA), lower-case, no trailing dot. Stores index it unique. */
  domain: string
  organizationId: string
  createdAt: Date
}

/** A person: one email and password, and any number of memberships. */
export interface AccountRecord {
  id: string
  /** Lower-cased; stores index it unique. */
  email: string
  passwordHash: string
  /** Carried in every access token; bumping it (a password change) revokes every token issued before, in every organization. */
  tokenVersion: number
  createdAt: Date
  updatedAt: Date
}

/**
 * An account's place in one organization. `role` is `admin`, `member` or a custom role; the
 * owner is the membership the organization's `ownerId` names, whatever its `role` says.
 */
export interface MembershipRecord {
  id: string
  accountId: string
  organizationId: string
  role: string
  createdAt: Date
  updatedAt: Date
}

/** A pending invitation. Accepted or cancelled ones are deleted, so one that exists is pending (or expired). */
export interface InvitationRecord {
  id: string
  organizationId: string
  /** Lower-cased. One pending invitation per email and organization: stores index the pair unique. */
  email: string
  role: string
  /** SHA-256 of the token the invitee holds; the token itself is never stored. */
  tokenHash: string
  /** The account that invited. */
  invitedBy: string
  createdAt: Date
  expiresAt: Date
}

/** One login: the refresh-token family and every access token issued from it carry its id. */
export interface SessionRecord {
  id: string
  accountId: string
  organizationId: string
  membershipId: string
  /** The account's token version at login: a password change since then ends the session. */
  tokenVersion: number
  createdAt: Date
  /** Absolute lifetime: no refresh extends a session past this. */
  expiresAt: Date
}

/** A refresh token, stored only as the SHA-256 of the opaque value the client holds. */
export interface RefreshTokenRecord {
  hash: string
  sessionId: string
  createdAt: Date
  /** Idle lifetime: the token must be used (rotated) before this. */
  expiresAt: Date
  /** Set atomically when the token is rotated; a second use is a replay. */
  usedAt: Date | null
  /**
   * Set when the call that consumed the token failed before its client got the new pair: until
   * then, one more use is that client's retry, not a replay.
   */
  retryUntil?: Date | null
}

export type AuditEventType =
  | 'organization.created'
  | 'organization.updated'
  | 'organization.deleted'
  | 'login.succeeded'
  | 'login.failed'
  | 'token.refreshed'
  | 'session.ended'
  | 'sessions.revoked'
  | 'domain.added'
  | 'domain.removed'
  | 'member.invited'
  | 'invitation.accepted'
  | 'invitation.cancelled'
  | 'member.role_changed'
  | 'member.removed'
  | 'member.left'
  | 'ownership.transferred'

/** A security-relevant event. Never carries a password, hash or token. */
export interface AuditEvent {
  id: string
  type: AuditEventType
  /** `null` when no organization is known (a login with an unknown email). */
  organizationId: string | null
  accountId: string | null
  clientAddress: string | null
  at: Date
  details: Record<string, string | number | boolean>
}

/** A page of audit events: `after` is the position of the last event of the page before. */
export interface AuditPage {
  limit: number
  before?: Date
  after?: Pick<AuditEvent, 'at' | 'id'>
}

export type SessionQuery =
  | { id: string }
  | { accountId: string }
  | { organizationId: string }
  | { membershipId: string }

export type OrganizationQuery = { id: string } | { nameKey: string } | { slug: string }
export type AccountQuery = { id: string } | { email: string }
export type MembershipQuery = { id: string } | { accountId: string; organizationId: string }
export type InvitationQuery = { id: string } | { tokenHash: string }
export type OrganizationPatch = Partial<Pick<OrganizationRecord, 'name' | 'nameKey' | 'slug' | 'ownerId' | 'updatedAt'>>

/**
 * A conditional change of state: made only while the organization is in one of `from` and, with
 * `staleForMs`, has been in it at least that long by the store's clock.
 */
export interface OrganizationTransition {
  from: readonly OrganizationState[]
  to: OrganizationState
  staleForMs?: number
}
export type AccountPatch = Partial<Pick<AccountRecord, 'email' | 'passwordHash' | 'tokenVersion' | 'updatedAt'>>
export type MembershipPatch = Partial<Pick<MembershipRecord, 'role' | 'updatedAt'>>

/**
 * A pluggable store: the master records, and each tenant's data in the collections it declares.
 *
 * @example
 * const tenancy = createTenancy({ store: memoryStore(), auth: { secret } })
 */
export interface TenantStore {
  /** The collection names this store declares; `tenant.collection(name)` takes only these. */
  readonly collectionNames: readonly string[]

  /**
   * Throws `OrganizationNameTakenError` when `nameKey` is taken, `SlugTakenError` when `slug` is.
   * The store stamps `stateChangedAt` with its own clock (the database server's), whatever the
   * record says: in-flight timeouts are measured on one clock, never across app servers.
   */
  insertOrganization(org: OrganizationRecord): Promise<void>
  findOrganization(query: OrganizationQuery): Promise<OrganizationRecord | null>
  /**
   * Throws `OrganizationNameTakenError` / `SlugTakenError` when a new `nameKey` / `slug` is taken;
   * `null` when `id` is gone, or when `expected` is given and the stored owner differs (how an
   * ownership transfer is made atomic).
   */
  updateOrganization(
    id: string,
    patch: OrganizationPatch,
    expected?: Pick<OrganizationRecord, 'ownerId'>,
  ): Promise<OrganizationRecord | null>
  /**
   * Moves the organization to `to` in one conditional write, stamping `stateChangedAt` with the
   * store's clock; `null` when it is gone or not in a `from` state (for long enough). The only way
   * state changes: whoever gets the record back owns the step, so two instances (or a delayed
   * write and its compensation) never both act on one organization.
   */
  transitionOrganization(id: string, transition: OrganizationTransition): Promise<OrganizationRecord | null>
  /** Idempotent. */
  deleteOrganization(id: string): Promise<void>

  /** Throws `EmailTakenError` when `email` is taken. */
  insertAccount(account: AccountRecord): Promise<void>
  findAccount(query: AccountQuery): Promise<AccountRecord | null>
  /**
   * Throws `EmailTakenError` when a new `email` is taken; `null` when `id` is gone, or when
   * `expected` is given and the stored account's fields differ from it (a conditional write: the
   * change is made only if nothing changed them since they were read).
   */
  updateAccount(
    id: string,
    patch: AccountPatch,
    expected?: Pick<AccountRecord, 'passwordHash'>,
  ): Promise<AccountRecord | null>
  /** Idempotent. */
  deleteAccount(id: string): Promise<void>

  /** Throws `AlreadyMemberError` when the account already has a membership in the organization. */
  insertMembership(membership: MembershipRecord): Promise<void>
  findMembership(query: MembershipQuery): Promise<MembershipRecord | null>
  /** An organization's memberships, or an account's, ordered by id. */
  listMemberships(query: { organizationId: string } | { accountId: string }): Promise<MembershipRecord[]>
  /** `null` when `id` is gone, or when `expected` is given and the stored role differs (a conditional write). */
  updateMembership(
    id: string,
    patch: MembershipPatch,
    expected?: Pick<MembershipRecord, 'role'>,
  ): Promise<MembershipRecord | null>
  /** Removes the membership only if it belongs to `organizationId`; answers whether it did. */
  deleteMembership(id: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteMemberships(organizationId: string): Promise<void>
  /** Every membership in id order, after `afterId`: how `recover()` finds memberships whose organization is gone. */
  walkMemberships(options?: { afterId?: string }): AsyncIterable<MembershipRecord>

  /** Throws `InvitationPendingError` when the organization has a pending invitation for `email`. */
  insertInvitation(invitation: InvitationRecord): Promise<void>
  findInvitation(query: InvitationQuery): Promise<InvitationRecord | null>
  /** The organization's invitations, oldest first. */
  listInvitations(organizationId: string): Promise<InvitationRecord[]>
  /**
   * Removes the invitation only if it belongs to `organizationId`; answers whether it did. Of
   * any number of concurrent calls for one invitation exactly one gets `true`: accepting an
   * invitation is winning this delete.
   */
  deleteInvitation(id: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteInvitations(organizationId: string): Promise<void>

  /** Throws `DomainTakenError` when any organization (this one included) holds the domain. */
  insertDomain(record: DomainRecord): Promise<void>
  findDomain(domain: string): Promise<DomainRecord | null>
  /** The organization's domains, ordered by domain. */
  listDomains(organizationId: string): Promise<DomainRecord[]>
  /** Removes the domain only if `organizationId` holds it; answers whether it did. */
  deleteDomain(domain: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteDomains(organizationId: string): Promise<void>

  insertSession(session: SessionRecord): Promise<void>
  findSession(id: string): Promise<SessionRecord | null>
  /** Deletes the matching sessions and their refresh tokens. Idempotent. */
  deleteSessions(query: SessionQuery): Promise<void>
  insertRefreshToken(token: RefreshTokenRecord): Promise<void>
  /**
   * Marks the token used, atomically: of any number of concurrent calls for one hash, exactly one
   * gets `consumed: true` (a token released by `releaseRefreshToken` is unused again until its
   * `retryUntil`). `consumed: false` means it had been used before (a replay); `null`,
   * that no such token exists.
   */
  consumeRefreshToken(hash: string, usedAt: Date): Promise<{ token: RefreshTokenRecord; consumed: boolean } | null>
  /**
   * After the call that consumed the token at `usedAt` failed: lets exactly one more
   * `consumeRefreshToken` of it succeed before `retryUntil` (and clears the mark when it does).
   * Conditional on `usedAt`, so it never reopens a token a later call consumed.
   */
  releaseRefreshToken(hash: string, usedAt: Date, retryUntil: Date): Promise<void>

  insertAuditEvent(event: AuditEvent): Promise<void>
  /**
   * The organization's events in a stable order, newest first and by id within one instant:
   * strictly before `before` when given, and strictly after the `after` position (the last
   * event of the previous page) when given, so events that share a millisecond across a page
   * boundary are neither skipped nor repeated.
   */
  listAuditEvents(organizationId: string, options: AuditPage): Promise<AuditEvent[]>
  /** Idempotent. */
  deleteAuditEvents(organizationId: string): Promise<void>

  /**
   * Creates the tenant's data space: every declared collection and its indexes. Idempotent, so it
   * also migrates. A store that shares its database with others records the space in its own
   * metadata before creating it, so it only ever lists and sweeps spaces it made.
   */
  provisionTenantData(org: OrganizationRecord): Promise<void>
  /**
   * Removes the tenant's data and everything in it: its collections, or on a shared strategy its
   * documents in every declared collection. Idempotent. Orphans are dropped by their key alone,
   * passed as both fields.
   */
  dropTenantData(org: Pick<OrganizationRecord, 'id' | 'dataKey'>): Promise<void>
  /**
   * The key of every data space this store provisioned and has not dropped, whether or not an
   * organization still points at it: the data key, or on a shared strategy the organization id
   * the documents carry. Never a space another store, app or environment made on the same
   * server. The way to find orphans after a crash, and what the conformance suite checks.
   */
  listTenantDataKeys(): Promise<string[]>
  /**
   * The tenant's collection `name`, one of `collectionNames`: the handle every operation of the
   * tenant goes through. Synchronous and cheap. A store that can tell without a round trip
   * throws `OrganizationNotFoundError` when the data space is gone; one that cannot (MongoDB)
   * hands out a handle to an empty space.
   */
  collection(org: OrganizationRecord, name: string): TenantCollection
  /**
   * Throws `CapacityExceededError` when one more organization would take the store past its
   * budget (MongoDB's `maxNamespaces`). Asked before each create; a store without a budget omits it.
   */
  assertCapacity?(): Promise<void>
  /**
   * Every organization, in any state, ordered by id, starting after `afterId`: what migrations
   * and recovery walk. Resumable by passing the last id seen.
   */
  listOrganizations(options?: { afterId?: string }): AsyncIterable<OrganizationRecord>
}
