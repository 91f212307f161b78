import bcrypt from 'bcrypt'
import jwt from 'jsonwebtoken'
import { z } from 'zod'
import {
  InvalidCredentialsError,
  OrganizationNotFoundError,
  OrganizationRequiredError,
  OrganizationSuspendedError,
  TokenExpiredError,
  TokenInvalidError,
  TooManyRequestsError,
} from '../errors.js'
import { BoundedQueue } from '../lib/bounded-queue.js'
import { Keyring, type Jwk } from '../lib/keyring.js'
import { LoginThrottle } from '../lib/login-throttle.js'
import { PasswordCheck } from './password-check.js'
import { SessionThrottle } from './session-throttle.js'
import * as fields from '../lib/fields.js'
import { parseInput } from '../lib/parse-input.js'
import { parseAuthOptions, type AuthOptions } from './auth-options.js'
import { Sessions } from './sessions.js'
import type { AccessTokenClaims, IssuedTokens } from './tokens.js'
import type { Store } from '../store.js'
import type { AccountRecord, MembershipRecord, OrganizationRecord } from '../control/records.js'
import { organizationNameKey } from '../lib/organization-name.js'
import type { MemberTenant } from '../tenant.js'
import type { AuditLog } from '../control/audit-log.js'
import type { TenantCache } from '../context/tenant-cache.js'

const claimsSchema = z.object({
  sub: z.string().min(1),
  org: z.string().min(1),
  mid: z.string().min(1),
  role: z.string().min(1),
  ver: z.number().int().nonnegative(),
  sid: z.string().min(1),
  exp: z.number(),
})

const loginSchema = z.object({ email: z.string(), password: z.string(), organizationName: z.string().optional() })

/**
 * Passwords and access tokens. Tokens are JWTs (`typ: at+jwt`, HS256 or ES256, a `kid` naming
 * the key) with `sub` = account id, `org` = organization id, `mid` = membership id, `role` = its
 * role and `ver` = the account's token version;
 * each key verifies with its own algorithm only, and `iss`, `aud` and `exp` are required.
 *
 * @example
 * const { accessToken } = await tenancy.auth.login({ email, password })
 * const claims = tenancy.auth.verifyAccessToken(accessToken)
 */
export class Auth {
  readonly #store: Store
  // Prebuilt KeyObjects: jsonwebtoken rebuilds one from a string secret on every call, which
  // costs far more than the HMAC itself.
  readonly #keyring: Keyring
  readonly #issuer: string
  readonly #audience: string
  readonly #expiresIn: number
  readonly #bcryptCost: number
  readonly #hashing: BoundedQueue
  // New passwords (sign-ups, password changes) hash in a queue of their own: a flood of them
  // fills this one, never the one logins compare in.
  readonly #newHashes: BoundedQueue
  readonly #signUps: LoginThrottle
  readonly #throttle: LoginThrottle
  readonly #audit: AuditLog
  readonly #sessions: Sessions
  readonly #passwords: PasswordCheck

  constructor(store: Store, options: AuthOptions, services: { cache: TenantCache; audit: AuditLog }) {
    const parsed = parseAuthOptions(options)
    this.#store = store
    this.#keyring =
      parsed.secret !== undefined
        ? new Keyring(
            [{ kid: Keyring.kidForSecret(parsed.secret), algorithm: 'HS256', secret: parsed.secret }],
            undefined,
          )
        : new Keyring(parsed.keys!, parsed.signingKeyId)
    this.#issuer = parsed.issuer
    this.#audience = parsed.audience
    this.#expiresIn = parsed.expiresIn
    this.#bcryptCost = parsed.bcryptCost
    this.#throttle = new LoginThrottle(parsed.loginLimits)
    this.#audit = services.audit
    this.#sessions = new Sessions({
      store,
      ...services,
      throttle: new SessionThrottle(parsed.sessionLimits),
      refreshIdleMs: parsed.refreshIdleSeconds * 1000,
      sessionLifetimeMs: parsed.sessionLifetimeSeconds * 1000,
      expiresIn: parsed.expiresIn,
      signAccessToken: (grant, sessionId) =>
        this.#keyring.sign(
          {
            client_id: parsed.clientId,
            org: grant.organizationId,
            mid: grant.membershipId,
            role: grant.role,
            ver: grant.tokenVersion,
            sid: sessionId,
          },
          { subject: grant.accountId, issuer: this.#issuer, audience: this.#audience, expiresIn: this.#expiresIn },
        ),
    })
    this.#hashing = new BoundedQueue({
      concurrency: parsed.maxConcurrentHashes,
      maxQueued: parsed.maxQueuedHashes,
      onFull: () => new TooManyRequestsError('too many password operations are queued; retry shortly', 1),
    })
    this.#passwords = new PasswordCheck(store, this.#hashing, parsed.bcryptCost)
    this.#newHashes = new BoundedQueue({
      concurrency: parsed.maxConcurrentHashes,
      maxQueued: parsed.maxQueuedHashes,
      onFull: () => new TooManyRequestsError('too many new passwords are being hashed; retry shortly', 1),
    })
    this.#signUps = new LoginThrottle(
      { perAccount: false, perClient: parsed.signUpLimit },
      'too many organizations created from this client; retry later',
    )
  }

  /** Hashes a password with bcrypt off the event loop. Rejects passwords bcrypt would truncate. */
  async hashPassword(password: string): Promise<string> {
    parseInput(z.object({ password: fields.password }), { password })
    return this.#newHashes.run(() => bcrypt.hash(password, this.#bcryptCost))
  }

  /**
   * Counts one sign-up (an organization or account created) from `clientAddress` against its
   * own limit, apart from logins: `TooManyRequestsError` past it.
   */
  async countSignUp(clientAddress: string | undefined): Promise<void> {
    await this.#signUps.attempt('sign-up', clientAddress)
  }

  /**
   * Checks an email and password and issues a token pair for one of the account's
   * organizations: the one named, or the only one. An unknown email costs a bcrypt comparison
   * against a dummy hash, so it fails in the same time and with the same error as a wrong
   * password; which organizations the account has is told only after the password matched.
   */
  async login(
    credentials: { email: string; password: string; organizationName?: string },
    context: { clientAddress?: string } = {},
  ): Promise<IssuedTokens> {
    const { email, password, organizationName } = parseInput(loginSchema, credentials)
    const clientAddress = context.clientAddress ?? null
    const { account, matched } = await this.#check(email, password, context)
    // Stryker disable next-line ArrayDeclaration: no account: the login fails below
    const memberships = matched && account ? await this.#activeMemberships(account.id) : []
    if (!matched || !account || memberships.length === 0) {
      // Recorded off the answer path: a known email must fail as fast as an unknown one.
      const at = new Date()
      this.#audit.defer(() => this.#recordFailedLogin(account, clientAddress, at))
      throw new InvalidCredentialsError()
    }
    let chosen = memberships[0]!
    if (organizationName !== undefined) {
      const key = organizationNameKey(organizationName)
      const named = memberships.find(({ organization }) => organization.nameKey === key)
      if (!named) throw new OrganizationNotFoundError('no organization has this name')
      chosen = named
    } else if (memberships.length > 1) {
      throw new OrganizationRequiredError(
        memberships.map(({ organization }) => ({ name: organization.name, slug: organization.slug })),
      )
    }
    await this.#throttle.succeeded(email, context.clientAddress)
    // Told only now, after the password matched: the organization exists, and is suspended.
    if (chosen.organization.state === 'suspended') throw new OrganizationSuspendedError()
    const tokens = await this.#sessions.start(account, chosen.membership, chosen.organization)
    await this.#audit.record({
      type: 'login.succeeded',
      organizationId: chosen.organization.id,
      accountId: account.id,
      clientAddress,
    })
    return tokens
  }

  /**
   * The account with this email if `password` is its password, else `null`, in the same time
   * either way; throttled per account and client address like a login (429 past the limits).
   * Upgrades a hash made at a lower cost.
   */
  async verifyCredentials(
    email: string,
    password: string,
    context: { clientAddress?: string } = {},
  ): Promise<AccountRecord | null> {
    const { account, matched } = await this.#check(email, password, context)
    return matched ? account : null
  }

  /** The account with this email, if any, and whether `password` is its password, in the same time either way. */
  async #check(
    email: string,
    password: string,
    context: { clientAddress?: string },
  ): Promise<{ account: AccountRecord | null; matched: boolean }> {
    try {
      await this.#throttle.attempt(email, context.clientAddress)
    } catch (err) {
      if (err instanceof TooManyRequestsError)
        await this.#audit.record({
          type: 'login.failed',
          organizationId: null,
          clientAddress: context.clientAddress ?? null,
          details: { reason: 'throttled' },
        })
      throw err
    }
    return this.#passwords.check(email, password)
  }

  /** Each organization of a known account sees the failed attempt in its trail, written at once. */
  async #recordFailedLogin(account: AccountRecord | null, clientAddress: string | null, at: Date): Promise<void> {
    const memberships = account ? await this.#store.records.memberships.list({ accountId: account.id }) : []
    const organizations = memberships.length > 0 ? memberships.map((m) => m.organizationId) : [null]
    await Promise.all(
      organizations.map((organizationId) =>
        this.#audit.record({
          type: 'login.failed',
          organizationId,
          accountId: account?.id,
          clientAddress,
          at,
          details: { reason: 'invalid_credentials' },
        }),
      ),
    )
  }

  /**
   * A new token pair for another organization the caller's account belongs to. One it does not
   * belong to is `OrganizationNotFoundError`, exactly as a name no organization has.
   */
  async switchOrganization(
    tenant: Pick<MemberTenant, 'member'> & { sessionId?: string },
    organizationName: string,
    context: { clientAddress?: string } = {},
  ): Promise<IssuedTokens> {
    const { name } = parseInput(z.object({ name: fields.organizationName }), { name: organizationName })
    await this.#sessions.attempt(tenant.sessionId ?? tenant.member.accountId, tenant.member.accountId)
    const account = await this.#store.records.accounts.find({ id: tenant.member.accountId })
    const key = organizationNameKey(name)
    const target = account
      ? (await this.#activeMemberships(account.id)).find(({ organization }) => organization.nameKey === key)
      : undefined
    if (!account || !target) throw new OrganizationNotFoundError('no organization has this name')
    if (target.organization.state === 'suspended') throw new OrganizationSuspendedError()
    // The organization the session is already for: the same session, not one more.
    const tokens =
      tenant.sessionId !== undefined && target.membership.id === tenant.member.id
        ? await this.#sessions.reissue(tenant.sessionId, account, target.membership, target.organization)
        : await this.#sessions.start(account, target.membership, target.organization)
    await this.#audit.record({
      type: 'login.succeeded',
      organizationId: target.organization.id,
      accountId: account.id,
      clientAddress: context.clientAddress ?? null,
      details: { via: 'switch' },
    })
    return tokens
  }

  /**
   * Starts a session for a member the host has authenticated itself (SSO, tests, seeding): a
   * refresh-token family and its first access token.
   */
  async startSession(membership: Pick<MembershipRecord, 'id' | 'accountId' | 'organizationId'>): Promise<IssuedTokens> {
    const [account, stored, organization] = await Promise.all([
      this.#store.records.accounts.find({ id: membership.accountId }),
      this.#store.records.memberships.find({ id: membership.id }),
      this.#store.records.organizations.find({ id: membership.organizationId }),
    ])
    if (
      !account ||
      stored?.accountId !== account.id ||
      organization?.state !== 'active' ||
      stored.organizationId !== organization.id
    )
      throw organization?.state === 'suspended'
        ? new OrganizationSuspendedError()
        : new OrganizationNotFoundError('no such membership')
    return this.#sessions.start(account, stored, organization)
  }

  async #activeMemberships(
    accountId: string,
  ): Promise<{ membership: MembershipRecord; organization: OrganizationRecord }[]> {
    const memberships = await this.#store.records.memberships.list({ accountId })
    const organizations = await Promise.all(
      memberships.map((membership) => this.#store.records.organizations.find({ id: membership.organizationId })),
    )
    // Suspended ones too: a login names them (and is told so) rather than seeing them gone.
    return memberships.flatMap((membership, i) =>
      organizations[i]?.state === 'active' || organizations[i]?.state === 'suspended'
        ? [{ membership, organization: organizations[i]! }]
        : [],
    )
  }

  /** See `Sessions.refresh`: rotation, with reuse ending the whole session. */
  refresh(refreshToken: string): Promise<IssuedTokens> {
    return this.#sessions.refresh(refreshToken)
  }

  /** Ends a session: its refresh tokens stop working, and so do its access tokens, on their next request. */
  async logout(
    tenant: Pick<MemberTenant, 'id' | 'member' | 'sessionId'>,
    context: { clientAddress?: string } = {},
  ): Promise<void> {
    await this.#sessions.end(tenant.sessionId)
    await this.#audit.record({
      type: 'session.ended',
      organizationId: tenant.id,
      accountId: tenant.member.accountId,
      clientAddress: context.clientAddress ?? null,
    })
  }

  /**
   * Ends the session a refresh token belongs to (RFC 7009 revocation): its refresh tokens stop
   * working, and its access tokens on their next request. An unknown, used or already ended
   * token is no error, as RFC 7009 §2.2 asks: there is nothing left to revoke.
   */
  async revokeRefreshToken(refreshToken: string, context: { clientAddress?: string } = {}): Promise<void> {
    const session = await this.#sessions.sessionOf(refreshToken)
    if (!session) return
    await this.#sessions.end(session.id)
    await this.#audit.record({
      type: 'session.ended',
      organizationId: session.organizationId,
      accountId: session.accountId,
      clientAddress: context.clientAddress ?? null,
      details: { via: 'refresh_token' },
    })
  }

  /**
   * Verifies signature, algorithm, issuer, audience and expiry, and returns the claims. It does
   * not consult the store: `TenantRegistry.resolve` adds the revocation and liveness checks.
   */
  verifyAccessToken(token: string): AccessTokenClaims {
    let payload: unknown
    try {
      payload = this.#keyring.verify(token, { issuer: this.#issuer, audience: this.#audience })
    } catch (err) {
      if (err instanceof TokenInvalidError) throw err
      if (err instanceof jwt.TokenExpiredError) throw new TokenExpiredError({ cause: err })
      throw new TokenInvalidError('the access token is not valid', { cause: err })
    }
    const claims = claimsSchema.safeParse(payload)
    if (!claims.success) throw new TokenInvalidError('the access token lacks required claims', { cause: claims.error })
    const { sub, org, mid, role, sid, ver, exp } = claims.data
    return {
      accountId: sub,
      organizationId: org,
      membershipId: mid,
      role,
      sessionId: sid,
      tokenVersion: ver,
      expiresAt: exp,
    }
  }

  /** The public keys of the ES256 keys as a JWK Set, to serve at a JWKS endpoint for other services. */
  jwks(): { keys: Jwk[] } {
    return this.#keyring.jwks()
  }

  /**
   * Counts one attempt at a credential for `email` from `clientAddress` against the login limits:
   * `TooManyRequestsError` past them. What guards an invitation accept with no password.
   */
  async countAttempt(email: string, clientAddress: string | undefined): Promise<void> {
    await this.#throttle.attempt(email, clientAddress)
  }
}
