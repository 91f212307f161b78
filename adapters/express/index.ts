import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { createOrgHandler, type OrgRouterOptions } from '../../src/http/org-handler.js'
import type { HttpResponse } from '../../src/http/http-types.js'
import { scopeRequest, type ScopeResult } from '../../src/http/scope-request.js'
import type { RegisteredTenant } from '../../src/register.js'
import type { Tenancy } from '../../src/tenancy.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The caller's tenant; set by `tenantScope` on the routes behind it. */
      tenant: RegisteredTenant
    }
  }
}

export type { OrgRouterOptions }

function send(res: Response, response: HttpResponse): void {
  res.status(response.status).set(response.headers).end(response.body)
}

/**
 * The org-management routes (`/org/create`, `/org/get`, `/admin/login`, `/org/update`,
 * `/org/delete`) as one Express middleware; other paths fall through to `next()`.
 *
 * @example
 * app.use(orgRouter(tenancy))
 */
export function orgRouter(tenancy: Tenancy<unknown>, options?: OrgRouterOptions): RequestHandler {
  const handler = createOrgHandler(tenancy, options)
  return async function tenantryOrgRouter(req: Request, res, next) {
    try {
      const response = await handler.handle({ method: req.method, url: req.url, headers: req.headers, body: req, parsedBody: req.body, clientAddress: req.ip })
      if (response) send(res, response)
      else next()
    } catch (err) {
      next(err)
    }
  }
}

/**
 * Verifies the Bearer token and sets `req.tenant`, or answers 401 problem+json.
 *
 * @example
 * app.get('/notes', tenantScope(tenancy), async (req, res) => {
 *   res.json({ notes: await req.tenant.data.find({}).toArray() })
 * })
 */
export function tenantScope(tenancy: Tenancy<unknown>): RequestHandler {
  // Not an async function: when the tenant is cached, scopeRequest answers synchronously and
  // next() runs without a promise in between.
  return function tenantryScope(req, res, next) {
    const scoped = scopeRequest(tenancy, req.headers.authorization)
    if (scoped instanceof Promise) scoped.then((result) => enter(req, res, next, result)).catch(next)
    else enter(req, res, next, scoped)
  }
}

function enter(req: Request, res: Response, next: NextFunction, scoped: ScopeResult<unknown>): void {
  if (scoped.problem) return send(res, scoped.problem)
  req.tenant = scoped.tenant as RegisteredTenant
  next()
}
