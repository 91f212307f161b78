import type { Context, Middleware, Next } from 'koa'
import { createOrgHandler, type OrgRouterOptions } from '../../src/http/org-handler.js'
import type { HttpResponse } from '../../src/http/http-types.js'
import { scopeRequest, type ScopeResult } from '../../src/http/scope-request.js'
import type { RegisteredTenant } from '../../src/register.js'
import type { Tenancy } from '../../src/tenancy.js'

declare module 'koa' {
  interface DefaultState {
    /** The caller's tenant; set by `tenantScope` on the routes behind it. */
    tenant: RegisteredTenant
  }
}

export type { OrgRouterOptions }

function send(ctx: Context, response: HttpResponse): void {
  ctx.status = response.status
  ctx.set(response.headers)
  ctx.body = response.body ?? null
}

/**
 * The org-management routes (`/org/create`, `/org/get`, `/admin/login`, `/org/update`,
 * `/org/delete`) as one Koa middleware; other paths fall through to `next()`. It works with or
 * without `@koa/router`.
 *
 * @example
 * app.use(orgRouter(tenancy))
 */
export function orgRouter(tenancy: Tenancy<unknown>, options?: OrgRouterOptions): Middleware {
  const handler = createOrgHandler(tenancy, options)
  return async function tenantryOrgRouter(ctx, next) {
    const parsedBody = (ctx.request as { body?: unknown }).body
    const response = await handler.handle({ method: ctx.method, url: ctx.url, headers: ctx.headers, body: ctx.req, parsedBody, clientAddress: ctx.ip })
    if (response) send(ctx, response)
    else await next()
  }
}

/**
 * Verifies the Bearer token and sets `ctx.state.tenant`, or answers 401 problem+json.
 *
 * @example
 * router.get('/notes', tenantScope(tenancy), async (ctx) => {
 *   ctx.body = { notes: await ctx.state.tenant.data.find({}).toArray() }
 * })
 */
export function tenantScope(tenancy: Tenancy<unknown>): Middleware {
  // Not an async function: when the tenant is cached, scopeRequest answers synchronously and
  // next() runs without an extra promise in between.
  return function tenantryScope(ctx, next) {
    const scoped = scopeRequest(tenancy, ctx.headers.authorization)
    return scoped instanceof Promise ? scoped.then((result) => enter(ctx, next, result)) : enter(ctx, next, scoped)
  }
}

function enter(ctx: Context, next: Next, scoped: ScopeResult<unknown>): Promise<void> | void {
  if (scoped.problem) return send(ctx, scoped.problem)
  ctx.state.tenant = scoped.tenant as RegisteredTenant
  return next()
}
