/**
 * The records of the control plane: organizations, accounts, memberships, invitations,
 * sessions, domains and audit events, as every `RecordStore` keeps them. Plain data: dates are
 * `Date`s, "not found" is `null`, and a store hands out copies.
 */

/**
 * `provisioning` and `deleting` mark an organization whose create or delete is in flight (or was
 * interrupted by a crash). Only `active` organizations are visible, can log in or scope requests;
 * a `suspended` one keeps everything but answers `ORGANIZATION_SUSPENDED` until it is resumed.
 */
export type OrganizationState = 'provisioning' | 'active' | 'suspended' | 'deleting'

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
  /** The host's own JSON about the organization (plan, region, ...); absent until first set. */
  metadata?: Record<string, unknown>
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

/**
 * A person, with any number of memberships: signed in by tenantry (an email and a password), by
 * the host app (a `subject`, the host's own user id, linked with `tenancy.accounts.link`), or both.
 */
export interface AccountRecord {
  id: string
  /** Lower-cased; unique among the accounts that have one. `null` for a host user linked without one. */
  email: string | null
  /** bcrypt; `null` for an account only the host app signs in. */
  passwordHash: string | null
  /** The host app's own user id; unique among the accounts that have one. Absent on password-only accounts. */
  subject?: string | null
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
  | 'organization.suspended'
  | 'organization.resumed'
  | 'login.succeeded'
  | 'login.failed'
  | 'token.refreshed'
  | 'session.ended'
  | 'sessions.revoked'
  | 'domain.added'
  | 'domain.removed'
  | 'member.invited'
  | 'member.added'
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
export type AccountQuery = { id: string } | { email: string } | { subject: string }
export type MembershipQuery = { id: string } | { accountId: string; organizationId: string }
export type InvitationQuery = { id: string } | { tokenHash: string }
export type OrganizationPatch = Partial<
  Pick<OrganizationRecord, 'name' | 'nameKey' | 'slug' | 'ownerId' | 'metadata' | 'updatedAt'>
>

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
