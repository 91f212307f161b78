/**
 * Every failure a request can cause is one of these classes. Callers branch on the stable
 * `code` (`switch (err.code)`), never on the message, which may be reworded at any time.
 * `toProblem` in `src/http/problem.ts` is the one place that turns them into HTTP answers.
 */

/**
 * The base of every error tenantry throws on purpose.
 *
 * @example
 * try { await tenancy.orgs.create(input) }
 * catch (err) { if (err instanceof TenantryError && err.code === 'ORGANIZATION_NAME_TAKEN') retry() }
 */
export class TenantryError extends Error {
  static code = 'TENANTRY_ERROR'
  readonly code: string = 'TENANTRY_ERROR'
  /** On the error of a failed `insertMany` or `bulkWrite` of a tenant's collection: how far it got. */
  declare writes?: WritesApplied

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.code = (new.target as typeof TenantryError).code
  }
}

/**
 * What a failed `insertMany` or `bulkWrite` applied, as MongoDB reports it on every store: an
 * ordered call keeps the writes before the one that failed and stops there; `ordered: false`
 * carries on, and every failure is listed. The error thrown is the first failure's.
 *
 * @example
 * catch (err) { if (err instanceof errors.DuplicateKeyError) console.log(err.writes?.insertedCount) }
 */
export interface WritesApplied {
  insertedCount: number
  matchedCount: number
  modifiedCount: number
  deletedCount: number
  upsertedCount: number
  /** Each write that failed: its position in the call's input and its error's `code`. */
  failures: { index: number; code: string }[]
}

/** One field that failed validation; `pointer` is a JSON Pointer into the input (RFC 6901). */
export interface FieldIssue {
  pointer: string
  detail: string
}

/** The input did not match its schema. `issues` lists every field at fault. */
export class ValidationError extends TenantryError {
  static override code = 'VALIDATION_FAILED' as const
  readonly issues: FieldIssue[]

  constructor(issues: FieldIssue[], options?: { cause?: unknown }) {
    super(issues.map((issue) => `${issue.pointer}: ${issue.detail}`).join('; ') || 'invalid input', options)
    this.issues = issues
  }
}

/** Another organization already has this name (names compare ignoring case and outer spaces). */
export class OrganizationNameTakenError extends TenantryError {
  static override code = 'ORGANIZATION_NAME_TAKEN' as const
}

/** Another account already has this email: login is by email alone. (Wire code `ADMIN_EMAIL_TAKEN`, kept for clients.) */
export class EmailTakenError extends TenantryError {
  static override code = 'ADMIN_EMAIL_TAKEN' as const
}

/** Another account is already linked to this host subject (`tenancy.accounts.link` answers it instead). */
export class SubjectTakenError extends TenantryError {
  static override code = 'SUBJECT_TAKEN' as const
}

/** Which of `createTenancy`'s `limits` a change would pass. */
export type LimitName = 'membersPerOrganization' | 'organizationsPerAccount'

/**
 * The change would pass one of `createTenancy`'s `limits`: `limit` names it, `max` is its value.
 * Nothing was changed; an invitation refused at accept stays pending.
 */
export class LimitReachedError extends TenantryError {
  static override code = 'LIMIT_REACHED' as const
  readonly limit: LimitName
  readonly max: number

  constructor(limit: LimitName, max: number) {
    super(
      limit === 'membersPerOrganization'
        ? `this organization may have at most ${max} members (pending invitations count when inviting)`
        : `an account may belong to at most ${max} organizations`,
    )
    this.limit = limit
    this.max = max
  }
}

/** The organization is suspended (`tenancy.admin.suspend`): nobody acts for it until it is resumed; its data is kept. */
export class OrganizationSuspendedError extends TenantryError {
  static override code = 'ORGANIZATION_SUSPENDED' as const

  constructor(message = 'this organization is suspended') {
    super(message)
  }
}

/** No live organization has this name or id. */
export class OrganizationNotFoundError extends TenantryError {
  static override code = 'ORGANIZATION_NOT_FOUND' as const
}

/** The caller is authenticated, but not as a member of the organization it acts on. (Wire code `NOT_ORGANIZATION_ADMIN`, kept for clients.) */
export class NotAMemberError extends TenantryError {
  static override code = 'NOT_ORGANIZATION_ADMIN' as const
}

/** Login failed. Unknown email and wrong password are deliberately indistinguishable. */
export class InvalidCredentialsError extends TenantryError {
  static override code = 'INVALID_CREDENTIALS' as const

  constructor() {
    super('email or password is incorrect')
  }
}

/** No `Authorization: Bearer …` header was sent. */
export class TokenMissingError extends TenantryError {
  static override code = 'TOKEN_MISSING' as const

  constructor() {
    super('a Bearer access token is required')
  }
}

/**
 * The token is not one we accept: bad signature, wrong algorithm, issuer or audience, no expiry,
 * revoked by a password change, or its organization or admin is gone.
 */
export class TokenInvalidError extends TenantryError {
  static override code = 'TOKEN_INVALID' as const
  /** The RFC 6750 §3.1 error: `invalid_request` for a malformed Authorization header, `invalid_token` for a token we refuse. */
  readonly bearerError: 'invalid_request' | 'invalid_token'

  constructor(message: string, options?: { cause?: unknown; bearerError?: 'invalid_request' | 'invalid_token' }) {
    super(message, options)
    this.bearerError = options?.bearerError ?? 'invalid_token'
  }
}

/** The refresh token is unknown, used, expired, or its session has ended; the client must log in again. */
export class RefreshTokenInvalidError extends TenantryError {
  static override code = 'REFRESH_TOKEN_INVALID' as const

  constructor(message = 'the refresh token is not valid') {
    super(message)
  }
}

/** The token was valid once and has expired; the client should log in again. */
export class TokenExpiredError extends TenantryError {
  static override code = 'TOKEN_EXPIRED' as const

  constructor(options?: { cause?: unknown }) {
    super('the access token has expired', options)
  }
}

/** Too much work is already queued (password hashing under a login flood); retry later. */
export class TooManyRequestsError extends TenantryError {
  static override code = 'TOO_MANY_REQUESTS' as const
  readonly retryAfterSeconds: number

  constructor(message: string, retryAfterSeconds: number) {
    super(message)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** A document with this `_id` already exists in the tenant collection. */
export class DuplicateKeyError extends TenantryError {
  static override code = 'DUPLICATE_KEY' as const
}

/** Another organization already has this slug, or it is reserved. */
export class SlugTakenError extends TenantryError {
  static override code = 'SLUG_TAKEN' as const
}

/** Another organization already has this custom domain. */
export class DomainTakenError extends TenantryError {
  static override code = 'DOMAIN_TAKEN' as const
}

/** The organization has no such custom domain. */
export class DomainNotFoundError extends TenantryError {
  static override code = 'DOMAIN_NOT_FOUND' as const
}

/** `tenantScope` found nothing in the request that names a tenant (no subdomain, no resolver answer). */
export class TenantNotIdentifiedError extends TenantryError {
  static override code = 'TENANT_NOT_IDENTIFIED' as const

  constructor(message = 'this request does not identify an organization') {
    super(message)
  }
}

/** The caller may not act for the identified tenant: `authorize` refused, or the host user is not one of its members. */
export class TenantAccessDeniedError extends TenantryError {
  static override code = 'TENANT_ACCESS_DENIED' as const

  constructor(message = 'the caller may not act for this organization') {
    super(message)
  }
}

/** The host app says no user is signed in (`tenantScope`'s `member` answered `null`). */
export class NotSignedInError extends TenantryError {
  static override code = 'NOT_SIGNED_IN' as const

  constructor(message = 'sign in to act for an organization') {
    super(message)
  }
}

/**
 * Code that needs a tenant ran outside any: `requireTenant()` outside `tenancy.run`, or a route
 * that reads `req.tenant` without `tenantScope` in front of it. A bug in the host, never a
 * client error, so it is not mapped to an HTTP answer; nothing falls back to another tenant.
 */
export class NoTenantContextError extends TenantryError {
  static override code = 'NO_TENANT_CONTEXT' as const
}

/**
 * An operation on a tenant's collection that could reach beyond the tenant's own documents, or
 * that tenantry does not know: an unknown method, option, update operator or aggregation stage,
 * a stage that reads another collection, server-side JavaScript, a write that names another
 * tenant or touches the tenant field. Refused before anything reaches the store.
 */
export class TenantIsolationError extends TenantryError {
  static override code = 'TENANT_ISOLATION' as const
}

/**
 * A query, update, pipeline or option the engine cannot run as given: an unknown operator,
 * conflicting update paths, `skip(NaN)`, a negative limit, a malformed stage. Nothing changed.
 */
export class InvalidQueryError extends TenantryError {
  static override code = 'INVALID_QUERY' as const
}

/** Something this store's engine does not do (`$text` on the in-memory store); the message says where it works. */
export class UnsupportedQueryError extends TenantryError {
  static override code = 'UNSUPPORTED_QUERY' as const
}

/**
 * One operation would take more than a tenant may: an array or string past the bounds, a regular
 * expression that can backtrack for ever, a query with too many values. Refused before it runs
 * away, so one tenant cannot stall or crash the process for everyone.
 */
export class QueryLimitError extends TenantryError {
  static override code = 'QUERY_LIMIT' as const
}

/** The operation ran past its `maxTimeMS` (the in-memory store's default applies when none is given). */
export class QueryTimeoutError extends TenantryError {
  static override code = 'QUERY_TIMEOUT' as const
}

/** `tenant.collection(name)` for a name the store does not declare: a typo must not create a stray collection. */
export class UnknownCollectionError extends TenantryError {
  static override code = 'UNKNOWN_COLLECTION' as const
}

/** Creating another organization would take the store past its namespace budget (`maxNamespaces`). */
export class CapacityExceededError extends TenantryError {
  static override code = 'CAPACITY_EXCEEDED' as const
}

/** The caller's role in the organization lacks the permission the operation needs. */
export class PermissionDeniedError extends TenantryError {
  static override code = 'PERMISSION_DENIED' as const
}

/** No membership of this organization has this id. A member of another organization is not found here either. */
export class MemberNotFoundError extends TenantryError {
  static override code = 'MEMBER_NOT_FOUND' as const
}

/** The account is already a member of the organization. */
export class AlreadyMemberError extends TenantryError {
  static override code = 'ALREADY_A_MEMBER' as const
}

/** The organization already has a pending invitation for this email (another invitation raced this one). */
export class InvitationPendingError extends TenantryError {
  static override code = 'INVITATION_PENDING' as const
}

/** No pending invitation of this organization has this id. */
export class InvitationNotFoundError extends TenantryError {
  static override code = 'INVITATION_NOT_FOUND' as const
}

/** The invitation token is unknown, used, cancelled or expired, or the password is not the account's. */
export class InvitationInvalidError extends TenantryError {
  static override code = 'INVITATION_INVALID' as const

  constructor(message = 'the invitation is not valid, or the password is not this account’s') {
    super(message)
  }
}

/**
 * The account belongs to several organizations and the login named none. Thrown only after the
 * password was verified, so `organizations` tells only their owner which they are.
 */
export class OrganizationRequiredError extends TenantryError {
  static override code = 'ORGANIZATION_REQUIRED' as const
  readonly organizations: { name: string; slug: string }[]

  constructor(organizations: { name: string; slug: string }[]) {
    super('this account belongs to several organizations: name one in organization_name')
    this.organizations = organizations
  }
}

/**
 * A tenant's SQL statement broke a constraint other than a unique key (a foreign key, a check,
 * `NOT NULL`, an exclusion constraint). The statement changed nothing; `cause` is the driver's error.
 */
export class ConstraintViolationError extends TenantryError {
  static override code = 'CONSTRAINT_VIOLATION' as const
}

/**
 * The database could not be reached in time: no pooled connection came free within
 * `acquireTimeoutMs`, or the connection was lost mid-statement. Nothing is known to have
 * changed; the request may be retried.
 */
export class DatabaseUnavailableError extends TenantryError {
  static override code = 'DATABASE_UNAVAILABLE' as const
  readonly retryable = true
}

/**
 * The database is not at the schema this version of tenantry (or the host's declared
 * migrations) expects: run `tenancy.migrate()` at deploy, before serving requests.
 */
export class MigrationRequiredError extends TenantryError {
  static override code = 'MIGRATION_REQUIRED' as const
}

/**
 * A tenant's transaction lost to a concurrent one (a serialization failure or a deadlock,
 * SQLSTATE 40001 or 40P01) and was rolled back whole: running it again usually succeeds.
 * `cause` is the driver's error.
 */
export class TransactionConflictError extends TenantryError {
  static override code = 'TRANSACTION_CONFLICT' as const
  readonly retryable = true
}
