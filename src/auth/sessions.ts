import { OrganizationSuspendedError, RefreshTokenInvalidError, TenantryError } from '../errors.js'
import type { AuditLog } from '../control/audit-log.js'
import type { IssuedTokens } from './tokens.js'
import { newId } from '../lib/ids.js'
import { hashRefreshToken, newRefreshToken, REFRESH_TOKEN } from '../lib/refresh-token.js'
import type { Store } from '../store.js'
import type { AccountRecord, MembershipRecord, OrganizationRecord, SessionRecord } from '../control/records.js'
import { effectiveRole } from '../members/roles.js'
import type { TenantCache } from '../context/tenant-cache.js'
import type { SessionThrottle } from './session-throttle.js'

/** What an access token is issued for: an account, as one membership, with the role it has now. */
export interface TokenGrant {
  accountId: string
  organizationId: string
  membershipId: string
  role: string
  tokenVersion: number
}

/**
 * How long a client whose refresh failed on our side (a timeout, a lost connection: the token
 * may already be consumed) may retry with the same token without it counting as a replay.
 * RFC 9700 §4.14.2 lets a server keep a rotated token valid for such retries; 30 s is Okta's
 * default grace period, long enough for a client's retry with back-off and short enough that
 * the token, reopened only after a failure we saw, is not a standing second credential.
 */
const REFRESH_RETRY_GRACE_MS = 30_000

/**
 * The session lifecycle behind `Auth`: a login starts a session (a refresh-token family),
 * refreshes rotate its token, and ending it revokes every token of the family. Refresh tokens
 * are opaque, single-use and stored only as hashes; access tokens carry the session id, so the
 * registry refuses them as soon as their session is gone.
 */
export class Sessions {
  readonly #store: Store
  readonly #cache: TenantCache
  readonly #audit: AuditLog
  readonly #refreshIdleMs: number
  readonly #sessionLifetimeMs: number
  readonly #expiresIn: number
  readonly #signAccessToken: (grant: TokenGrant, sessionId: string) => string
  readonly #throttle: SessionThrottle

  constructor(options: {
    store: Store
    cache: TenantCache
    audit: AuditLog
    refreshIdleMs: number
    sessionLifetimeMs: number
    expiresIn: number
    signAccessToken: (grant: TokenGrant, sessionId: string) => string
    throttle: SessionThrottle
  }) {
    this.#store = options.store
    this.#cache = options.cache
    this.#audit = options.audit
    this.#refreshIdleMs = options.refreshIdleMs
    this.#sessionLifetimeMs = options.sessionLifetimeMs
    this.#expiresIn = options.expiresIn
    this.#signAccessToken = options.signAccessToken
    this.#throttle = options.throttle
  }

  async start(
    account: Pick<AccountRecord, 'id' | 'tokenVersion'>,
    membership: Pick<MembershipRecord, 'id' | 'organizationId' | 'role'>,
    organization: Pick<OrganizationRecord, 'ownerId'>,
  ): Promise<IssuedTokens> {
    const now = Date.now()
    const session: SessionRecord = {
      id: newId(),
      accountId: account.id,
      organizationId: membership.organizationId,
      membershipId: membership.id,
      tokenVersion: account.tokenVersion,
      createdAt: new Date(now),
      expiresAt: new Date(now + this.#sessionLifetimeMs),
    }
    await this.#store.records.sessions.insert(session)
    await this.#endOldest(account.id)
    return this.#issue(grantFor(account, membership, organization), session, now)
  }

  /**
   * A new token pair in the session the caller already holds (a switch to the organization it is
   * for): counted against the session's limits, and no session added.
   */
  async reissue(
    sessionId: string,
    account: Pick<AccountRecord, 'id' | 'tokenVersion'>,
    membership: Pick<MembershipRecord, 'id' | 'organizationId' | 'role'>,
    organization: Pick<OrganizationRecord, 'ownerId'>,
  ): Promise<IssuedTokens> {
    const now = Date.now()
    const session = await this.#store.records.sessions.find(sessionId)
    if (!session || session.expiresAt.getTime() <= now || session.membershipId !== membership.id)
      return this.start(account, membership, organization)
    return this.#issue(grantFor(account, membership, organization), session, now)
  }

  /** Counts a refresh or switch against the session's and the account's limits (429 past them). */
  attempt(sessionId: string, accountId: string): Promise<void> {
    return this.#throttle.attempt(sessionId, accountId)
  }

  /** Ends the account's oldest sessions past `maxSessions`, with their refresh tokens. */
  async #endOldest(accountId: string): Promise<void> {
    const live = await this.#store.records.sessions.list({ accountId })
    for (const old of live.slice(0, Math.max(0, live.length - this.#throttle.maxSessions))) {
      await this.end(old.id)
      await this.#audit.record({
        type: 'sessions.revoked',
        organizationId: old.organizationId,
        accountId,
        details: { reason: 'session_limit' },
      })
    }
  }

  /**
   * Swaps a refresh token for a new access and refresh token (rotation). The old one is consumed
   * atomically, so of two concurrent refreshes one fails; a refresh token used a second time is
   * taken as stolen and ends its whole session (RFC 9700 §4.14), except for one retry within
   * `REFRESH_RETRY_GRACE_MS` after a refresh that failed on our side.
   */
  async refresh(refreshToken: string): Promise<IssuedTokens> {
    if (typeof refreshToken !== 'string') throw new RefreshTokenInvalidError()
    // Stryker disable next-line ConditionalExpression: another form finds no token: same refusal
    if (!REFRESH_TOKEN.test(refreshToken)) throw new RefreshTokenInvalidError()
    const now = Date.now()
    const hash = hashRefreshToken(refreshToken)
    const usedAt = new Date(now)
    try {
      return await this.#rotate(hash, usedAt)
    } catch (err) {
      // A failure of ours, not a refusal: the token may be consumed with no new pair delivered.
      // Reopen it for one retry within the grace period, so the client's retry is not a replay.
      // Stryker disable next-line ConditionalExpression: reopening after a refusal changes nothing
      if (!(err instanceof TenantryError))
        await this.#store.records.sessions
          .releaseRefreshToken(hash, usedAt, new Date(now + REFRESH_RETRY_GRACE_MS))
          .catch(() => {})
      throw err
    }
  }

  async #rotate(hash: string, usedAt: Date): Promise<IssuedTokens> {
    const now = usedAt.getTime()
    const found = await this.#store.records.sessions.consumeRefreshToken(hash, usedAt)
    if (!found) throw new RefreshTokenInvalidError()
    if (!found.consumed) {
      const stolen = await this.#store.records.sessions.find(found.token.sessionId)
      await this.end(found.token.sessionId)
      if (stolen)
        await this.#audit.record({
          type: 'sessions.revoked',
          organizationId: stolen.organizationId,
          accountId: stolen.accountId,
          details: { reason: 'refresh_token_reuse' },
        })
      throw new RefreshTokenInvalidError('the refresh token was used before; its session has been ended')
    }
    if (found.token.expiresAt.getTime() <= now) throw new RefreshTokenInvalidError()
    const session = await this.#store.records.sessions.find(found.token.sessionId)
    if (!session || session.expiresAt.getTime() <= now) throw new RefreshTokenInvalidError()
    try {
      await this.#throttle.attempt(session.id, session.accountId)
    } catch (err) {
      // Refused, not spent: the token works again once the limit allows.
      await this.#store.records.sessions.releaseRefreshToken(hash, usedAt, found.token.expiresAt)
      throw err
    }
    const [account, membership, organization] = await Promise.all([
      this.#store.records.accounts.find({ id: session.accountId }),
      this.#store.records.memberships.find({ id: session.membershipId }),
      this.#store.records.organizations.find({ id: session.organizationId }),
    ])
    // A suspension keeps the session: the token is reopened as it was, for use after the resume.
    if (organization?.state === 'suspended') {
      await this.#store.records.sessions.releaseRefreshToken(hash, usedAt, found.token.expiresAt)
      throw new OrganizationSuspendedError()
    }
    // A removed membership, a deleted organization or a password change since login ends the
    // session, even if a refresh token slipped through.
    if (
      !account ||
      membership?.accountId !== account.id ||
      // Stryker disable next-line ConditionalExpression: defense in depth: unreachable
      membership.organizationId !== session.organizationId ||
      // Stryker disable next-line OptionalChaining: deletes remove memberships first
      organization?.state !== 'active' ||
      account.tokenVersion !== session.tokenVersion
    ) {
      await this.end(session.id)
      throw new RefreshTokenInvalidError()
    }
    const tokens = await this.#issue(grantFor(account, membership, organization), session, now)
    await this.#audit.record({
      type: 'token.refreshed',
      organizationId: session.organizationId,
      accountId: session.accountId,
    })
    return tokens
  }

  /** The live session a refresh token belongs to, or `null`. Marks the token used: it is about to be revoked. */
  async sessionOf(refreshToken: string): Promise<SessionRecord | null> {
    if (typeof refreshToken !== 'string') return null
    // Stryker disable next-line ConditionalExpression: another form finds no token: null all the same
    if (!REFRESH_TOKEN.test(refreshToken)) return null
    const found = await this.#store.records.sessions.consumeRefreshToken(hashRefreshToken(refreshToken), new Date())
    return found ? this.#store.records.sessions.find(found.token.sessionId) : null
  }

  /** Deletes the session and its refresh tokens, and forgets it in the registry's cache. */
  async end(sessionId: string): Promise<void> {
    await this.#store.records.sessions.delete({ id: sessionId })
    this.#cache.invalidateSession(sessionId)
  }

  async #issue(grant: TokenGrant, session: SessionRecord, now: number): Promise<IssuedTokens> {
    const refreshToken = newRefreshToken()
    await this.#store.records.sessions.insertRefreshToken({
      hash: hashRefreshToken(refreshToken),
      sessionId: session.id,
      createdAt: new Date(now),
      // A refresh token never outlives its session.
      expiresAt: new Date(Math.min(now + this.#refreshIdleMs, session.expiresAt.getTime())),
      usedAt: null,
    })
    return {
      accessToken: this.#signAccessToken(grant, session.id),
      tokenType: 'Bearer',
      expiresIn: this.#expiresIn,
      refreshToken,
    }
  }
}

function grantFor(
  account: Pick<AccountRecord, 'id' | 'tokenVersion'>,
  membership: Pick<MembershipRecord, 'id' | 'organizationId' | 'role'>,
  organization: Pick<OrganizationRecord, 'ownerId'>,
): TokenGrant {
  return {
    accountId: account.id,
    organizationId: membership.organizationId,
    membershipId: membership.id,
    role: effectiveRole(organization, membership.id, membership.role),
    tokenVersion: account.tokenVersion,
  }
}
