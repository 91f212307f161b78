/** The Express adapter: `orgRouter` and `tenantScope` as Express middleware. @module tenantry/express */
import type { NextFunction, Request, RequestHandler, Response } from 'express'
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

declare global {
  namespace Express {
    interface Request {
      /** The caller's tenant; set by `tenantScope` on the routes behind it. */
      tenant: RegisteredTenant
    }
  }
}

export type ExpressOrgRouterOptions = OrgRouterOptions<Request>
export type ExpressTenantScopeOptions = TenantScopeOptions<Request>

const NO_TENANT = missingTenant('req.tenant') as RegisteredTenant

const send = (res: Response, response: HttpResponse) =>
  void res.status(response.status).set(response.headers).end(response.body)

/**
 * The org-management routes (`/org/*`, `/admin/login`, ...) as one Express middleware; other paths
 * fall through to `next()`, with a `req.tenant` that fails loudly unless `tenantScope` sets it.
 *
 * @example
 * app.use(orgRouter(tenancy))
 */
export function orgRouter(tenancy: Tenancy, options?: ExpressOrgRouterOptions): RequestHandler {
  const handler = createOrgHandler(tenancy, options)
  return async function tenantryOrgRouter(req: Request, res, next) {
    try {
      const { method, url, headers, body: parsedBody, ip: clientAddress } = req
      const response = await handler.handle({ method, url, headers, body: req, parsedBody, clientAddress, source: req })
      if (response) return send(res, response)
      req.tenant ??= NO_TENANT
      next()
    } catch (err) {
      next(err)
    }
  }
}

const readExpress = {
  authorization: (req: Request) => req.headers.authorization,
  hostname: (req: Request) => req.hostname,
}

/**
 * Identifies the request's tenant and sets `req.tenant`, or answers problem+json: 401 for a
 * bad token, 404 when the request names no live organization, 403 when `authorize` refuses.
 *
 * @example
 * app.get('/notes', tenantScope(tenancy), async (req, res) => {
 *   res.json({ notes: await req.tenant.collection('notes').find({}).toArray() })
 * })
 */
export function tenantScope(tenancy: Tenancy, options: ExpressTenantScopeOptions = {}): RequestHandler {
  const scope = createScopeRequest(tenancy, options, readExpress)
  const context = options.context === true
  // Not async: a cached tenant is answered synchronously, with no promise before next().
  return function tenantryScope(req, res, next) {
    let scoped: ScopeResult | Promise<ScopeResult>
    try {
      scoped = scope(req)
    } catch (err) {
      return next(err)
    }
    if (scoped instanceof Promise) scoped.then((result) => enter(req, res, next, result, context)).catch(next)
    else enter(req, res, next, scoped, context)
  }
}

function enter(req: Request, res: Response, next: NextFunction, scoped: ScopeResult, context: boolean): void {
  if (scoped instanceof ScopeProblem) {
    send(res, scoped.response)
    return
  }
  req.tenant = scoped as RegisteredTenant
  if (context) runAsTenant(scoped, () => next())
  else next()
}
