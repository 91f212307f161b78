import type { Tenancy } from '../tenancy.js'
import type { Tenant } from '../tenant-registry.js'
import { bearerToken } from './bearer-token.js'
import type { HttpResponse } from './http-types.js'
import { toProblem } from './problem.js'

/**
 * The work behind every adapter's `tenantScope`: the tenant for an `Authorization` header, or
 * the 401 problem to answer with. Anything that is not a client error (the store is down) is
 * thrown for the host's own error handling.
 */
export async function scopeRequest<TData>(
  tenancy: Tenancy<TData>,
  authorization: string | undefined,
): Promise<{ tenant: Tenant<TData>; problem?: never } | { tenant?: never; problem: HttpResponse }> {
  try {
    return { tenant: await tenancy.registry.resolve(bearerToken(authorization)) }
  } catch (err) {
    const problem = toProblem(err)
    if (problem) return { problem }
    throw err
  }
}
