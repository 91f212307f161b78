import type { Tenancy } from '../tenancy.js'
import type { Tenant } from '../context/tenant-registry.js'
import { bearerToken } from './bearer-token.js'
import type { HttpResponse } from './http-types.js'
import { toProblem } from './problem.js'

export type ScopeResult<TData> = { tenant: Tenant<TData>; problem?: never } | { tenant?: never; problem: HttpResponse }

/**
 * The work behind every adapter's `tenantScope`: the tenant for an `Authorization` header, or
 * the 401 problem to answer with. It answers synchronously when everything is cached (see
 * `TenantRegistry.lookup`), so an adapter can call `next()` without a promise in between.
 * Anything that is not a client error (the store is down) is thrown for the host's own error
 * handling.
 */
export function scopeRequest<TData>(tenancy: Tenancy<TData>, authorization: string | undefined): ScopeResult<TData> | Promise<ScopeResult<TData>> {
  let tenant: Tenant<TData> | Promise<Tenant<TData>>
  try {
    tenant = tenancy.registry.lookup(bearerToken(authorization))
  } catch (err) {
    return { problem: problemOrThrow(err) }
  }
  if (!(tenant instanceof Promise)) return { tenant }
  return tenant.then(
    (resolved) => ({ tenant: resolved }),
    (err: unknown) => ({ problem: problemOrThrow(err) }),
  )
}

function problemOrThrow(err: unknown): HttpResponse {
  const problem = toProblem(err)
  if (problem) return problem
  throw err
}
