import type {
  AccountPatch,
  AccountQuery,
  AccountRecord,
  AuditEvent,
  AuditPage,
  DomainRecord,
  InvitationQuery,
  InvitationRecord,
  MembershipPatch,
  MembershipQuery,
  MembershipRecord,
  OrganizationPatch,
  OrganizationQuery,
  OrganizationRecord,
  OrganizationTransition,
  RefreshTokenRecord,
  SessionQuery,
  SessionRecord,
} from './records.js'

/**
 * The control plane's storage contract: the records, grouped per record. The core depends on
 * this interface only; `tenantry/testing`'s `describeRecordStore` is what proves a store keeps it.
 *
 * Each method is one atomic step. The all-or-nothing rules of the organization lifecycle are
 * kept by the core, which orders these steps and compensates on failure, so a store needs no
 * multi-document transactions; one that has them offers `transaction`, and an organization
 * create then commits whole or not at all. "Not found" is `null`, never an exception.
 *
 * A failed write may still have applied (a timeout, a lost connection, a write-concern error).
 * The core undoes a step only when the store says it certainly did not: a `TenantryError` (a
 * taken name, ...) or any error with `refused: true`. Anything else is "may have applied", and
 * the organization is left in flight for `recover()` rather than guessed about.
 *
 * `domains` and `audit` are optional: a store without `domains` serves no custom domains (the
 * domain routes are left out, `{ domain }` references find nothing); one without `audit` hands
 * events to `onAudit` only.
 *
 * @example
 * const records: RecordStore = mongoStore({ db }).records
 */
export interface RecordStore {
  readonly organizations: OrganizationRecords
  readonly accounts: AccountRecords
  readonly memberships: MembershipRecords
  readonly invitations: InvitationRecords
  readonly sessions: SessionRecords
  readonly domains?: DomainRecords
  readonly audit?: AuditRecords
  /**
   * Builds what the records need (MongoDB's indexes, PostgreSQL's tables), or brings an earlier
   * version's up to date. Idempotent; `tenancy.migrate()` runs it, once per deploy. A store whose
   * writes rely on it refuses them, saying so, until it has run.
   */
  migrate?(): Promise<void>
  /**
   * Runs `fn` as one transaction: every call `fn` makes on this store (and on its data provider,
   * where they share a database) commits when `fn` resolves, none when it throws. A call that
   * fails inside leaves the transaction usable (the caller may catch a taken name and try
   * another). If `transaction` itself fails after `fn` resolved, the commit may have applied.
   */
  transaction?<TResult>(fn: () => Promise<TResult>): Promise<TResult>
}

export interface OrganizationRecords {
  /**
   * Throws `OrganizationNameTakenError` when `nameKey` is taken, `SlugTakenError` when `slug` is.
   * The store stamps `stateChangedAt` with its own clock (the database server's), whatever the
   * record says: in-flight timeouts are measured on one clock, never across app servers.
   */
  insert(org: OrganizationRecord): Promise<void>
  find(query: OrganizationQuery): Promise<OrganizationRecord | null>
  /**
   * Throws `OrganizationNameTakenError` / `SlugTakenError` when a new `nameKey` / `slug` is taken;
   * `null` when `id` is gone, or when `expected` is given and the stored owner differs (how an
   * ownership transfer is made atomic).
   */
  update(
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
  transition(id: string, transition: OrganizationTransition): Promise<OrganizationRecord | null>
  /** Idempotent. */
  delete(id: string): Promise<void>
  /**
   * Every organization, in any state, ordered by id, starting after `afterId`: what migrations
   * and recovery walk. Resumable by passing the last id seen.
   */
  list(options?: { afterId?: string }): AsyncIterable<OrganizationRecord>
}

export interface AccountRecords {
  /**
   * Throws `EmailTakenError` when `email` is taken. `createdAt` is stamped with the store's own
   * clock (the one `delete`'s `staleForMs` is measured by), whatever the caller passed.
   */
  insert(account: AccountRecord): Promise<void>
  find(query: AccountQuery): Promise<AccountRecord | null>
  /**
   * Throws `EmailTakenError` when a new `email` is taken; `null` when `id` is gone, or when
   * `expected` is given and the stored account's fields differ from it (a conditional write: the
   * change is made only if nothing changed them since they were read).
   */
  update(id: string, patch: AccountPatch, expected?: Pick<AccountRecord, 'passwordHash'>): Promise<AccountRecord | null>
  /**
   * Idempotent; answers whether it removed the account. With `staleForMs`, only an account
   * created at least that long ago by the store's clock: no instance's own clock decides it.
   */
  delete(id: string, options?: { staleForMs?: number }): Promise<boolean>
}

export interface MembershipRecords {
  /** Throws `AlreadyMemberError` when the account already has a membership in the organization. */
  insert(membership: MembershipRecord): Promise<void>
  find(query: MembershipQuery): Promise<MembershipRecord | null>
  /** An organization's memberships, an account's, or those of any of `accountIds` (up to 1,000), ordered by id. */
  list(
    query: { organizationId: string } | { accountId: string } | { accountIds: string[] },
  ): Promise<MembershipRecord[]>
  /** `null` when `id` is gone, or when `expected` is given and the stored role differs (a conditional write). */
  update(
    id: string,
    patch: MembershipPatch,
    expected?: Pick<MembershipRecord, 'role'>,
  ): Promise<MembershipRecord | null>
  /** Removes the membership only if it belongs to `organizationId`; answers whether it did. */
  delete(id: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteByOrganization(organizationId: string): Promise<void>
  /** Every membership in id order, after `afterId`: how `recover()` finds memberships whose organization is gone. */
  walk(options?: { afterId?: string }): AsyncIterable<MembershipRecord>
}

export interface InvitationRecords {
  /** Throws `InvitationPendingError` when the organization has a pending invitation for `email`. */
  insert(invitation: InvitationRecord): Promise<void>
  find(query: InvitationQuery): Promise<InvitationRecord | null>
  /** The organization's invitations, oldest first. */
  list(organizationId: string): Promise<InvitationRecord[]>
  /**
   * Removes the invitation only if it belongs to `organizationId`; answers whether it did. Of
   * any number of concurrent calls for one invitation exactly one gets `true`: accepting an
   * invitation is winning this delete.
   */
  delete(id: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteByOrganization(organizationId: string): Promise<void>
}

/** Login sessions and the refresh tokens issued in them. */
export interface SessionRecords {
  insert(session: SessionRecord): Promise<void>
  find(id: string): Promise<SessionRecord | null>
  /** The account's sessions that have not expired, oldest first (by `createdAt`, then id). */
  list(query: { accountId: string }): Promise<SessionRecord[]>
  /** Deletes the matching sessions and their refresh tokens. Idempotent. */
  delete(query: SessionQuery): Promise<void>
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
}

export interface DomainRecords {
  /** Throws `DomainTakenError` when any organization (this one included) holds the domain. */
  insert(record: DomainRecord): Promise<void>
  find(domain: string): Promise<DomainRecord | null>
  /** The organization's domains, ordered by domain. */
  list(organizationId: string): Promise<DomainRecord[]>
  /** Removes the domain only if `organizationId` holds it; answers whether it did. */
  delete(domain: string, organizationId: string): Promise<boolean>
  /** Idempotent. */
  deleteByOrganization(organizationId: string): Promise<void>
}

export interface AuditRecords {
  insert(event: AuditEvent): Promise<void>
  /**
   * The organization's events in a stable order, newest first and by id within one instant:
   * strictly before `before` when given, and strictly after the `after` position (the last
   * event of the previous page) when given, so events that share a millisecond across a page
   * boundary are neither skipped nor repeated.
   */
  list(organizationId: string, page: AuditPage): Promise<AuditEvent[]>
  /** Idempotent. */
  deleteByOrganization(organizationId: string): Promise<void>
}
