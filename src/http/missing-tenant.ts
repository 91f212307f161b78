import { NoTenantContextError } from '../errors.js'

/**
 * What `orgRouter` leaves in `req.tenant` / `ctx.state.tenant` for the host's routes, until
 * `tenantScope` replaces it with the real tenant. A route that forgot `tenantScope` then fails
 * on its first use of the tenant with an error naming the fix, instead of "cannot read
 * properties of undefined", and can never act for some tenant by accident. Symbols, `then` and
 * `toJSON` read as undefined, so loggers, `await` and JSON serialization do not trip on it.
 */
export function missingTenant(where: string): object {
  const fail = (): never => {
    throw new NoTenantContextError(
      `${where} is not set: this route is not behind tenantScope(tenancy); add it in front of the route`,
    )
  }
  return new Proxy(Object.freeze({}), {
    get: (_target, property) =>
      typeof property === 'symbol' || property === 'then' || property === 'toJSON' ? undefined : fail(),
    has: fail,
    set: fail,
  })
}
