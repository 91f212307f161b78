import { LRUCache } from 'lru-cache'
import {
  NotSignedInError,
  PermissionDeniedError,
  TenantAccessDeniedError,
  TenantNotIdentifiedError,
} from '../errors.js'
import { Roles } from '../members/roles.js'
import { normalizeBaseDomain } from '../control/domain-name.js'
import type { Tenancy } from '../tenancy.js'
import { internalsOf } from '../tenancy-internals.js'
import type { Tenant, TenantRef } from '../tenant.js'
import { bearerToken } from './bearer-token.js'
import { tenantRefFromHost } from './host-ref.js'
import type { HttpResponse } from './http-types.js'
import { toProblem } from './problem.js'

type MaybePromise<T> = T | Promise<T>

/** What identifies a request's tenant: a tenantry access token, the Host, or the host app's own code. */
export type TenantSource<TRequest> =
  | 'token'
  | 'host'
  | ((request: TRequest) => MaybePromise<TenantRef | null | undefined>)

/** Options of `tenantScope` in every adapter; `TRequest` is Express's `req` or Koa's `ctx`. */
export interface TenantScopeOptions<TRequest> {
  /**
   * - `'token'` (default): the `Authorization: Bearer` access token tenantry issued.
   * - `'host'`: the request's host: `<slug>.<baseDomain>` or an organization's custom domain.
   * - a function: the host app's own authentication, path or header decides (`req.user.orgId`).
   *   `null`/`undefined` means the request names no tenant (404). A throw goes to the host's
   *   own error handling.
   */
  from?: TenantSource<TRequest>
  /** With `from: 'host'`: the base domain(s). Default: the tenancy's `baseDomain`. */
  baseDomain?: string | string[]
  /**
   * May this caller act for this tenant? Anything but `true` answers 403. A subdomain or a
   * path alone proves nothing about who is calling: with `from: 'host'` or a resolver, check
   * here that the caller (your session, your API key) belongs to the organization. A throw goes
   * to the host's own error handling.
   */
  authorize?: (request: TRequest, tenant: Tenant) => MaybePromise<boolean>
  /**
   * The host app's signed-in user, as the `subject` it linked with `tenancy.accounts.link`
   * (`(req) => req.session.userId ?? null`). After the tenant is identified (any `from` but
   * `'token'`, whose token already names its member), that user's membership is looked up:
   * none is 403 `TENANT_ACCESS_DENIED`, `null` is 401 `NOT_SIGNED_IN`, and a member becomes
   * `req.tenant.member` with `permission` checked against its role. Read on every request, so a
   * role change or a removal counts at once.
   */
  member?: (request: TRequest) => MaybePromise<string | null | undefined>
  /**
   * A permission the caller's role must hold (`'notes:write'`), else 403 `PERMISSION_DENIED`:
   * the role of the token's member (`from: 'token'`) or of the host user (`member`). Built-in and
   * custom roles are `createTenancy({ roles })`'s.
   */
  permission?: string
  /**
   * Run the rest of the request inside `tenancy.run` for the tenant, so `currentTenant()` works
   * anywhere below. Default `false`: it costs an AsyncLocalStorage context per request (see the
   * measurements in docs/performance.md).
   */
  context?: boolean
}

/** How an adapter reads its framework's request. */
export interface RequestReader<TRequest> {
  authorization(request: TRequest): string | undefined
  hostname(request: TRequest): string | undefined
}

/** A client error `tenantScope` answers with instead of calling the route. */
export class ScopeProblem {
  constructor(readonly response: HttpResponse) {}
}

/**
 * The tenant, or the problem to answer with. A tenant is handed back as is, with no wrapper, so
 * the hot path allocates nothing.
 */
export type ScopeResult = Tenant | ScopeProblem

/** The per-request function an adapter calls: synchronous whenever everything it needs is cached. */
export type ScopeRequest<TRequest> = (request: TRequest) => MaybePromise<ScopeResult>

/**
 * Compiles `tenantScope`'s options into the function every adapter calls per request. Bad
 * options throw `TypeError` here, at start-up. Client errors come back as `{ problem }`
 * (401 for tokens, 404 when no tenant is named or it is unknown, 403 when `authorize` refuses);
 * anything else (a resolver or `authorize` that throws, the store being down) is thrown, for the
 * host's error handling.
 */
export function createScopeRequest<TRequest>(
  tenancy: Tenancy,
  options: TenantScopeOptions<TRequest>,
  read: RequestReader<TRequest>,
): ScopeRequest<TRequest> {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('tenantry: tenantScope options must be an object')
  const { from = 'token', authorize } = options
  const { registry } = internalsOf(tenancy)
  if (from !== 'token' && from !== 'host' && typeof from !== 'function')
    throw new TypeError("tenantry: tenantScope's from must be 'token', 'host' or a function")
  if (authorize !== undefined && typeof authorize !== 'function')
    throw new TypeError("tenantry: tenantScope's authorize must be a function")
  if (options.context !== undefined && typeof options.context !== 'boolean')
    throw new TypeError("tenantry: tenantScope's context must be a boolean")
  if (options.baseDomain !== undefined && from !== 'host')
    throw new TypeError("tenantry: tenantScope's baseDomain goes with from: 'host'")
  // Stryker disable next-line ArrayDeclaration: only the host strategy reads baseDomains
  const baseDomains = from === 'host' ? scopeBaseDomains(tenancy, options.baseDomain) : []
  const { permission } = options
  if (permission !== undefined && !Roles.isPermission(permission))
    throw new TypeError("tenantry: tenantScope's permission must be named area:action, such as 'notes:write'")
  const { member } = options
  if (member !== undefined && typeof member !== 'function')
    throw new TypeError("tenantry: tenantScope's member must be a function from the request to the signed-in subject")
  if (member !== undefined && from === 'token')
    throw new TypeError("tenantry: tenantScope's member goes with from: 'host' or a resolver; a token names its member")
  // Only a token or the host's signed-in user says who the caller is; a host or resolver names a tenant, not a member.
  if (permission !== undefined && from !== 'token' && member === undefined)
    throw new TypeError(
      "tenantry: tenantScope's permission needs from: 'token' or a member (use authorize with other sources)",
    )

  // Built once: a flood of unidentifiable requests allocates no error per request.
  const notIdentified = new ScopeProblem(toProblem(new TenantNotIdentifiedError())!)
  const denied = new ScopeProblem(toProblem(new TenantAccessDeniedError())!)
  const notSignedIn = new ScopeProblem(toProblem(new NotSignedInError())!)
  const lacksPermission = new ScopeProblem(
    toProblem(new PermissionDeniedError(`this needs the ${permission} permission`))!,
  )

  const authorized = (request: TRequest, tenant: Tenant): MaybePromise<ScopeResult> => {
    if (permission !== undefined && !tenancy.members.can(tenant, permission)) return lacksPermission
    if (!authorize) return tenant
    const allowed = authorize(request, tenant)
    if (allowed instanceof Promise) return allowed.then((value) => (value === true ? tenant : denied))
    return allowed === true ? tenant : denied
  }
  // The tenant, or the problem for a client error; anything else propagates.
  const settle = (request: TRequest, tenant: MaybePromise<Tenant>): MaybePromise<ScopeResult> =>
    tenant instanceof Promise
      ? tenant.then((found) => authorized(request, found), problemOrThrow)
      : authorized(request, tenant)
  // The host's user as a member of the organization `ref` names, read now: a removal counts at once.
  const asMember = async (request: TRequest, ref: TenantRef): Promise<ScopeResult> => {
    const subject = await member!(request)
    if (subject === null || subject === undefined) return notSignedIn
    if (typeof subject !== 'string') throw new TypeError("tenantry: tenantScope's member must answer a string or null")
    return authorized(request, await registry.memberOf(ref, subject))
  }
  const lookup = (request: TRequest, ref: TenantRef | null | undefined): MaybePromise<ScopeResult> => {
    if (ref === null || ref === undefined) return notIdentified
    if (member !== undefined) return asMember(request, ref).catch(problemOrThrow)
    let tenant: MaybePromise<Tenant>
    try {
      tenant = registry.findSync(ref)
    } catch (err) {
      return problemOrThrow(err)
    }
    return settle(request, tenant)
  }

  if (from === 'token') {
    return function scopeByToken(request) {
      let tenant: MaybePromise<Tenant>
      try {
        tenant = registry.lookup(bearerToken(read.authorization(request)))
      } catch (err) {
        return problemOrThrow(err)
      }
      return settle(request, tenant)
    }
  }
  if (from === 'host') {
    // Hostname → reference, remembered: the same few hosts come back on every request. Bounded,
    // so a flood of made-up hosts costs a parse each and never grows memory.
    const refsByHost = new LRUCache<string, { ref: TenantRef | null }>({ max: 1024 })
    return function scopeByHost(request) {
      // Stryker disable next-line StringLiteral: any non-hostname parses to no tenant
      const hostname = read.hostname(request) ?? ''
      let known = refsByHost.get(hostname)
      // Stryker disable next-line ConditionalExpression: a second parse costs a parse only
      if (known === undefined) {
        known = { ref: tenantRefFromHost(hostname, baseDomains) }
        refsByHost.set(hostname, known)
      }
      return lookup(request, known.ref)
    }
  }
  return function scopeByResolver(request) {
    // The resolver is the host's code: what it throws is the host's to handle, never a 4xx.
    const ref = from(request)
    return ref instanceof Promise ? ref.then((resolved) => lookup(request, resolved)) : lookup(request, ref)
  }
}

function scopeBaseDomains(tenancy: Tenancy, baseDomain: string | string[] | undefined): readonly string[] {
  if (baseDomain === undefined) {
    if (tenancy.baseDomains.length === 0)
      throw new TypeError("tenantry: tenantScope({ from: 'host' }) needs a baseDomain, here or in createTenancy")
    return tenancy.baseDomains
  }
  const given = Array.isArray(baseDomain) ? baseDomain : [baseDomain]
  const list = given.map(normalizeBaseDomain)
  for (const [i, domain] of list.entries()) {
    if (domain === null)
      throw new TypeError(`tenantry: baseDomain ${JSON.stringify(given[i])} is not a hostname such as example.com`)
    // A base domain the tenancy does not know would let an organization register a custom
    // domain that this scope reads as another organization's slug.
    if (tenancy.baseDomains.length > 0 && !tenancy.baseDomains.includes(domain))
      throw new TypeError(`tenantry: baseDomain ${domain} is not one of createTenancy's baseDomain`)
  }
  return list as string[]
}

function problemOrThrow(err: unknown): ScopeProblem {
  const problem = toProblem(err)
  if (problem) return new ScopeProblem(problem)
  throw err
}
