import type { TenantCollection } from './data/collection-types.js'

/**
 * The storage contract. The core depends on this interface only; every store (in-memory,
 * MongoDB, later PostgreSQL) implements it and passes the same conformance suite.
 *
 * Each method is one atomic step. The all-or-nothing rules of the organization lifecycle are
 * kept by `OrgService`, which orders these steps and compensates on failure, so a store needs no
 * multi-document transactions to be correct. "Not found" is `null`, never an exception.
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

export interface AdminRecord {
  id: string
  organizationId: string
  /** Lower-cased; stores index it unique across all organizations. */
  email: string
  passwordHash: string
  /** Carried in every access token; bumping it revokes every token issued before. */
  tokenVersion: number
  createdAt: Date
  updatedAt: Date
}

/** One login: the refresh-token family and every access token issued from it carry its id. */
export interface SessionRecord {
  id: string
  adminId: string
  organizationId: string
  /** The admin's token version at login: a password change since then ends the session. */
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
  /** Set once, atomically, when the token is rotated; a second use is a replay. */
  usedAt: Date | null
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

/** A security-relevant event. Never carries a password, hash or token. */
export interface AuditEvent {
  id: string
  type: AuditEventType
  /** `null` when no organization is known (a login with an unknown email). */
  organizationId: string | null
  adminId: string | null
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

export type SessionQuery = { id: string } | { adminId: string } | { organizationId: string }

export type OrganizationQuery = { id: string } | { nameKey: string } | { slug: string }
export type AdminQuery = { id: string } | { email: string }
export type OrganizationPatch = Partial<Pick<OrganizationRecord, 'name' | 'nameKey' | 'slug' | 'state' | 'stateChangedAt' | 'updatedAt'>>
export type AdminPatch = Partial<Pick<AdminRecord, 'email' | 'passwordHash' | 'tokenVersion' | 'updatedAt'>>

/**
 * A pluggable store: the master records, and each tenant's data in the collections it declares.
 *
 * @example
 * const tenancy = createTenancy({ store: memoryStore(), auth: { secret } })
 */
export interface TenantStore {
  /** The collection names this store declares; `tenant.collection(name)` takes only these. */
  readonly collectionNames: readonly string[]

  /** Throws `OrganizationNameTakenError` when `nameKey` is taken, `SlugTakenError` when `slug` is. */
  insertOrganization(org: OrganizationRecord): Promise<void>
  findOrganization(query: OrganizationQuery): Promise<OrganizationRecord | null>
  /** Throws `OrganizationNameTakenError` / `SlugTakenError` when a new `nameKey` / `slug` is taken; `null` when `id` is gone. */
  updateOrganization(id: string, patch: OrganizationPatch): Promise<OrganizationRecord | null>
  /** Idempotent. */
  deleteOrganization(id: string): Promise<void>

  /** Throws `AdminEmailTakenError` when `email` is taken. */
  insertAdmin(admin: AdminRecord): Promise<void>
  findAdmin(query: AdminQuery): Promise<AdminRecord | null>
  /**
   * Throws `AdminEmailTakenError` when a new `email` is taken; `null` when `id` is gone, or when
   * `expected` is given and the stored admin's fields differ from it (a conditional write: the
   * change is made only if nothing changed them since they were read).
   */
  updateAdmin(id: string, patch: AdminPatch, expected?: Pick<AdminRecord, 'passwordHash'>): Promise<AdminRecord | null>
  /** Idempotent. */
  deleteAdmins(organizationId: string): Promise<void>

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
   * gets `consumed: true`. `consumed: false` means it had been used before (a replay); `null`,
   * that no such token exists.
   */
  consumeRefreshToken(hash: string, usedAt: Date): Promise<{ token: RefreshTokenRecord; consumed: boolean } | null>

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

  /** Creates the tenant's data space: every declared collection and its indexes. Idempotent, so it also migrates. */
  provisionTenantData(org: OrganizationRecord): Promise<void>
  /**
   * Removes the tenant's data and everything in it: its collections, or on a shared strategy its
   * documents in every declared collection. Idempotent. Orphans are dropped by their key alone,
   * passed as both fields.
   */
  dropTenantData(org: Pick<OrganizationRecord, 'id' | 'dataKey'>): Promise<void>
  /**
   * The key of every data space the store holds, whether or not an organization still points
   * at it: the data key, or on a shared strategy the organization id the documents carry. The
   * way to find orphans after a crash, and what the conformance suite checks.
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

