import { z } from 'zod'
import type { IssuedTokens } from '../auth/tokens.js'
import type { MemberTenant } from '../tenant.js'
import type { HostIdentity, HttpRequest } from './http-types.js'

/** One org-management endpoint, independent of any framework. Adapters never see these directly. */
export interface OrgRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Exact, or with one `{id}` segment, whose value reaches `handle` as `request.params.id`. */
  path: string
  /** Where the input comes from: the query string or a JSON body. */
  input: 'query' | 'body'
  schema: z.ZodType
  /**
   * `true`: the caller must be a member, and its tenant is passed to `handle` (from a Bearer token,
   * or under `identify` from the host's signed-in user). `'optional'`: a Bearer token, when sent,
   * must be valid and its tenant is passed; none is `undefined`. `'identity'`: the host's
   * signed-in user is required (`request.identity`), with no tenant (creating one, accepting an
   * invitation).
   */
  authenticated: boolean | 'optional' | 'identity'
  /** tenantry's own sign-in (`/admin/*`): always by token, also under `identify`. */
  tokenOnly?: true
  /** Where its OpenAPI description is filed when not under `METHOD path` (a variant of a route). */
  docsKey?: string
  /** A permission the token's role must hold, checked before the input is read (403 `PERMISSION_DENIED`). */
  permission?: string
  handle(
    input: never,
    tenant: MemberTenant | undefined,
    request: RouteRequest,
  ): Promise<{ status: number; body?: unknown }>
}

/** The request as a route sees it: the adapter's request, the path's `{id}` and, under `identify`, who is signed in. */
export interface RouteRequest extends HttpRequest {
  params: { id?: string }
  identity?: HostIdentity
}

export const noQuery = z.strictObject({})

export function tokensJson(tokens: IssuedTokens) {
  return {
    access_token: tokens.accessToken,
    token_type: tokens.tokenType,
    expires_in: tokens.expiresIn,
    refresh_token: tokens.refreshToken,
  }
}

export function route<TSchema extends z.ZodType>(
  definition: Omit<OrgRoute, 'schema' | 'handle'> & {
    schema: TSchema
    handle(
      input: z.output<TSchema>,
      tenant: MemberTenant | undefined,
      request: RouteRequest,
    ): Promise<{ status: number; body?: unknown }>
  },
): OrgRoute {
  return definition as OrgRoute
}

/**
 * Which routes a host turned off: `{ create: false }` (sign-up), `{ get: false }` (public lookup),
 * `{ auth: false }` (tenantry's own login, refresh, switch and logout, for an app whose users sign
 * in through `identify`).
 */
export interface RouteSwitches {
  create?: boolean
  get?: boolean
  auth?: boolean
}

/** The routes minus those a host turned off; a `TypeError` for a switch tenantry does not have. */
export function withoutSwitchedOff(routes: readonly OrgRoute[], switches: RouteSwitches = {}): OrgRoute[] {
  if (
    typeof switches !== 'object' ||
    switches === null ||
    Object.entries(switches).some(([name, on]) => !['create', 'get', 'auth'].includes(name) || typeof on !== 'boolean')
  ) {
    throw new TypeError('tenantry: routes takes { create?: boolean, get?: boolean, auth?: boolean }')
  }
  const off = new Set([switches.create === false && '/org/create', switches.get === false && '/org/get'])
  return routes.filter((route) => !off.has(route.path) && !(switches.auth === false && route.tokenOnly))
}
