/** The Koa adapter: `orgRouter` and `tenantScope` as Koa middleware. @module tenantry/koa */
import type { Context, Middleware, Next } from 'koa'
import { runAsTenant } from '../../src/context/tenant-context.js'
import type { HttpResponse } from '../../src/http/http-types.js'
import { missingTenant } from '../../src/http/missing-tenant.js'
import { createOrgHandler, type OrgRouterOptions } from '../../src/http/org-handler.js'
import {
  createScopeRequest,
  ScopeProblem,
  type ScopeResult,
  type TenantScopeOptions,
} from '../../src/http/tenant-scope.js'
import type { RegisteredTenant } from '../../src/tenant.js'
import type { Tenancy } from '../../src/tenancy.js'

declare module 'koa' {
  interface DefaultState {
    /** The caller's tenant; set by `tenantScope` on the routes behind it. */
    tenant: RegisteredTenant
  }
}

export type KoaOrgRouterOptions = OrgRouterOptions<Context>
export type KoaTenantScopeOptions = TenantScopeOptions<Context>

const NO_TENANT = missingTenant('ctx.state.tenant') as RegisteredTenant

function send(ctx: Context, response: HttpResponse): void {
  ctx.status = response.status
  ctx.set(response.headers)
  ctx.body = response.body ?? null
}

/**
 * The org-management routes (`/org/create`, `/org/get`, `/admin/login`, `/org/update`,
 * `/org/delete`, `/org/domains`, ...) as one Koa middleware; other paths fall through to
 * `next()`, with a `ctx.state.tenant` that fails loudly unless `tenantScope` sets the real one.
 * It works with or without `@koa/router`.
 *
 * @example
 * app.use(orgRouter(tenancy))
 */
export function orgRouter(tenancy: Tenancy, options?: KoaOrgRouterOptions): Middleware {
  const handler = createOrgHandler(tenancy, options)
  return async function tenantryOrgRouter(ctx, next) {
    const parsedBody = (ctx.request as { body?: unknown }).body
    const { method, url, headers, ip: clientAddress } = ctx
    const response = await handler.handle({
      method,
      url,
      headers,
      body: ctx.req,
      parsedBody,
      clientAddress,
      source: ctx,
    })
    if (response) return send(ctx, response)
    ctx.state.tenant ??= NO_TENANT
    await next()
  }
}

// ctx.req's own headers: what ctx.headers returns, without the two getters Koa delegates through.
const readKoa = {
  authorization: (ctx: Context) => ctx.req.headers.authorization,
  hostname: (ctx: Context) => ctx.hostname,
}

/**
 * Identifies the request's tenant and sets `ctx.state.tenant`, or answers problem+json: 401 for
 * a bad token, 404 when the request names no live organization, 403 when `authorize` refuses.
 *
 * @example
 * router.get('/notes', tenantScope(tenancy), async (ctx) => {
 *   ctx.body = { notes: await ctx.state.tenant.collection('notes').find({}).toArray() }
 * })
 * router.get('/site', tenantScope(tenancy, { from: 'host', baseDomain: 'example.com' }), handler)
 */
export function tenantScope(tenancy: Tenancy, options: KoaTenantScopeOptions = {}): Middleware {
  const scope = createScopeRequest(tenancy, options, readKoa)
  const context = options.context === true
  // Not an async function: when the tenant is cached, the scope answers synchronously and
  // next() runs without an extra promise in between.
  return function tenantryScope(ctx, next) {
    const scoped = scope(ctx)
    return scoped instanceof Promise
      ? scoped.then((result) => enter(ctx, next, result, context))
      : enter(ctx, next, scoped, context)
  }
}

function enter(ctx: Context, next: Next, scoped: ScopeResult, context: boolean): Promise<void> | void {
  if (scoped instanceof ScopeProblem) return send(ctx, scoped.response)
  ctx.state.tenant = scoped as RegisteredTenant
  return context ? runAsTenant(scoped, next) : next()
}
