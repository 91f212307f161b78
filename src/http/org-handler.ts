import { NotSignedInError, PermissionDeniedError } from '../errors.js'
import { parseInput } from '../lib/parse-input.js'
import type { Tenancy } from '../tenancy.js'
import { internalsOf } from '../tenancy-internals.js'
import type { MemberTenant } from '../tenant.js'
import { bearerToken } from './bearer-token.js'
import type { HostIdentity, HttpRequest, HttpResponse } from './http-types.js'
import { orgRoutes } from './org-routes.js'
import { withoutSwitchedOff, type OrgRoute, type RouteSwitches } from './route-table.js'
import { buildOpenApi, type OpenApiOptions } from './openapi/build-openapi.js'
import { docsPage } from './openapi/docs-page.js'
import { toProblem } from './problem.js'
import { readJsonBody } from './read-json-body.js'
import { MethodNotAllowedError } from './http-errors.js'
import { crossOriginCheck } from './cross-origin.js'

type MaybePromise<T> = T | Promise<T>

/** Options of `orgRouter` in every adapter; `TRequest` is Express's `req` or Koa's `ctx`. */
export interface OrgRouterOptions<TRequest = HttpRequest> {
  /** Largest accepted request body in bytes. Default 16 KiB: the org routes take a few short strings. */
  bodyLimit?: number
  /**
   * Path prefix to strip before matching, for routers that do not strip their mount path
   * themselves (a `@koa/router` prefix). Express's `app.use('/api', …)` needs none.
   */
  prefix?: string
  /**
   * Routes to leave out, for a host that creates organizations itself or keeps them private:
   * `{ create: false }` turns off public sign-up (`POST /org/create`), `{ get: false }` the public
   * `GET /org/get`. A route left out answers like any path that is not tenantry's (your 404).
   */
  routes?: RouteSwitches
  /**
   * Serve the OpenAPI 3.1 document of these routes at `GET /openapi.json` (default `true`).
   * Give `{ prefix: '/api' }` when the routes are mounted under a path the router strips, so
   * the document's paths carry it; `false` serves nothing.
   */
  openapi?: boolean | OpenApiOptions
  /**
   * Serve `GET /docs`: Swagger UI over `/openapi.json`, from the `swagger-ui-dist` package
   * (install it; it is an optional peer dependency), under a strict Content-Security-Policy
   * and with no request leaving the host. Default `false`: a docs page is the host's call.
   */
  docs?: boolean
  /**
   * The host app's own sign-in in front of tenantry's routes: who is signed in, as
   * `{ subject, email?, organization? }`, or `null`. Every organization, member, invitation,
   * domain and audit route then acts as that user (no Bearer token; `null` is 401
   * `NOT_SIGNED_IN`), in `organization` or, without it, the user's only organization
   * (several: 400 `ORGANIZATION_REQUIRED`). `POST /org/create` takes no email or password and
   * makes the user its owner; `POST /org/invitations/accept` takes the token alone. Never read
   * a subject from the body or the query: this function is the one door.
   */
  identify?: (request: TRequest) => MaybePromise<HostIdentity | null | undefined>
  /**
   * Under `identify`, the origins besides this host's own whose pages may send unsafe requests
   * (POST, PUT, PATCH, DELETE) to the routes acting as the signed-in user, such as
   * `['https://app.example.com']` for a front end served from another origin. Default none:
   * a cross-origin request is 403 `CROSS_ORIGIN_REFUSED`, so another site cannot act with the
   * user's session cookie. Tokens are not cookies: `/admin/*` is never checked.
   */
  allowedOrigins?: readonly string[]
}

/** Answers org-management requests; `null` means the path is not one of ours. */
export interface OrgHandler {
  handle(request: HttpRequest): Promise<HttpResponse | null>
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }
const EMPTY_HEADERS = { 'cache-control': 'no-store' }

/**
 * Compiles the route table into the request handler both adapters call. Everything a request
 * goes through (matching, 405, authentication, body limits, validation, error mapping) happens
 * here, once, so Express and Koa cannot drift apart.
 *
 * @example
 * const handler = createOrgHandler(tenancy, { bodyLimit: 8192 })
 * const response = await handler.handle({ method: 'GET', url: '/org/get?organization_name=acme', headers: {}, body: [] })
 */
export function createOrgHandler<TRequest = HttpRequest>(
  tenancy: Tenancy,
  options: OrgRouterOptions<TRequest> = {},
): OrgHandler {
  const { bodyLimit = 16 * 1024, prefix = '' } = options
  if (!Number.isInteger(bodyLimit) || bodyLimit <= 0)
    throw new TypeError('tenantry: bodyLimit must be a positive whole number of bytes')
  if (typeof prefix !== 'string' || (prefix !== '' && (!prefix.startsWith('/') || prefix.endsWith('/')))) {
    throw new TypeError('tenantry: prefix must be empty or start with "/" and not end with "/"')
  }
  // Exact paths by a map lookup; `/org/members/{id}` and the like by their prefix, the id being
  // the one segment after it.
  const routesByPath = new Map<string, Map<string, OrgRoute>>()
  const routesByPrefix = new Map<string, Map<string, OrgRoute>>()
  const { identify } = options
  if (identify !== undefined && typeof identify !== 'function')
    throw new TypeError('tenantry: identify must be a function from the request to { subject } or null')
  const { allowedOrigins = [] } = options
  if (!Array.isArray(allowedOrigins)) throw new TypeError('tenantry: allowedOrigins must be an array of origins')
  const refuseCrossOrigin = crossOriginCheck(allowedOrigins)
  const { registry } = internalsOf(tenancy)
  const served = withoutSwitchedOff(orgRoutes(tenancy, { identify: identify !== undefined }), options.routes)
  const { openapi = true } = options
  if (typeof openapi !== 'boolean' && (typeof openapi !== 'object' || openapi === null))
    throw new TypeError('tenantry: openapi must be true, false or { title, version, prefix }')
  // Built once: the document of exactly the routes this handler serves.
  const documentJson =
    openapi === false
      ? undefined
      : JSON.stringify(
          buildOpenApi(served, { prefix, ...(openapi === true ? {} : openapi), identify: identify !== undefined }),
        )
  if (options.docs !== undefined && typeof options.docs !== 'boolean')
    throw new TypeError('tenantry: docs must be a boolean')
  if (options.docs && openapi === false)
    throw new TypeError('tenantry: the docs page shows /openapi.json, so it needs openapi on')
  const docs = options.docs ? docsPage() : undefined
  for (const route of served) {
    const table = route.path.endsWith('/{id}') ? routesByPrefix : routesByPath
    const key = route.path.endsWith('/{id}') ? route.path.slice(0, -'{id}'.length) : route.path
    const byMethod = table.get(key) ?? new Map<string, OrgRoute>()
    byMethod.set(route.method, route)
    table.set(key, byMethod)
  }

  return {
    async handle(request) {
      const queryStart = request.url.indexOf('?')
      let path = queryStart === -1 ? request.url : request.url.slice(0, queryStart)
      if (prefix !== '') {
        if (path !== prefix && !path.startsWith(`${prefix}/`)) return null
        path = path.slice(prefix.length) || '/'
      }
      if (documentJson !== undefined && path === '/openapi.json') {
        if (request.method.toUpperCase() !== 'GET' && request.method.toUpperCase() !== 'HEAD')
          return toProblem(new MethodNotAllowedError(['GET']))
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' },
          body: documentJson,
        }
      }
      const page = docs?.get(path)
      if (page)
        return request.method.toUpperCase() === 'GET' || request.method.toUpperCase() === 'HEAD'
          ? page
          : toProblem(new MethodNotAllowedError(['GET']))
      let byMethod = routesByPath.get(path)
      let params: { id?: string } = {}
      if (!byMethod) {
        const slash = path.lastIndexOf('/')
        const id = path.slice(slash + 1)
        byMethod = routesByPrefix.get(path.slice(0, slash + 1))
        if (!byMethod || id === '') return null
        params = { id: safeDecode(id) }
      }
      try {
        const route = byMethod.get(request.method.toUpperCase())
        if (!route) throw new MethodNotAllowedError([...byMethod.keys()])
        const byHost = identify !== undefined && !route.tokenOnly && route.authenticated !== false
        if (byHost) refuseCrossOrigin(request)
        const identity = byHost ? await signedIn(identify, request) : undefined
        const sentToken =
          !byHost &&
          (route.authenticated === true ||
            (route.authenticated === 'optional' && request.headers.authorization !== undefined))
        const tenant = sentToken
          ? await tenancy.authenticate(bearerToken(request.headers.authorization))
          : identity && route.authenticated === true
            ? ((await registry.actingAs(identity.subject, identity.organization)) as MemberTenant)
            : undefined
        if (route.permission !== undefined && !tenancy.members.can(tenant!, route.permission))
          throw new PermissionDeniedError(`this needs the ${route.permission} permission`)
        const raw =
          route.input === 'query'
            ? queryObject(queryStart === -1 ? '' : request.url.slice(queryStart + 1))
            : await readJsonBody(request, bodyLimit)
        const result = await route.handle(parseInput(route.schema, raw) as never, tenant, {
          ...request,
          params,
          identity,
        })
        // An empty answer (204) says nothing about a body it does not have.
        if (result.body === undefined) return { status: result.status, headers: EMPTY_HEADERS }
        return { status: result.status, headers: JSON_HEADERS, body: JSON.stringify(result.body) }
      } catch (err) {
        const problem = toProblem(err)
        if (problem) return problem
        throw err
      }
    },
  }
}

/** Who the host says is signed in; `NotSignedInError` for nobody, a `TypeError` for an answer that is not an identity. */
async function signedIn<TRequest>(
  identify: (request: TRequest) => MaybePromise<HostIdentity | null | undefined>,
  request: HttpRequest,
): Promise<HostIdentity> {
  const identity = await identify((request.source ?? request) as TRequest)
  if (identity === null || identity === undefined) throw new NotSignedInError()
  if (typeof identity.subject !== 'string' || identity.subject === '')
    throw new TypeError('tenantry: identify must answer { subject: string, email?, organization? } or null')
  return identity
}

/** A path segment as the client meant it; a malformed escape stays as it came, and simply matches no id. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** A repeated parameter becomes an array, so the schema rejects it instead of one copy winning silently. */
function queryObject(query: string): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {}
  for (const [key, value] of new URLSearchParams(query)) {
    const existing = result[key]
    result[key] = existing === undefined ? value : [existing, value].flat()
  }
  return result
}
