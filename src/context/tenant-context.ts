import { AsyncLocalStorage } from 'node:async_hooks'
import { NoTenantContextError } from '../errors.js'
import type { RegisteredTenant } from '../tenant.js'
import type { Tenant } from '../tenant.js'

// One store for the whole process (and every tenancy in it), so `currentTenant()` needs no
// handle. It holds nothing until `tenancy.run` is called.
const storage = new AsyncLocalStorage<Tenant>()

/**
 * Runs `fn` with `tenant` as the current tenant. `AsyncLocalStorage.run`, never `enterWith`:
 * the context covers `fn` and the work it starts, and the caller's own context (usually none)
 * is back the moment `fn` returns or throws, so nothing after it runs as this tenant.
 */
export function runAsTenant<TTenant extends Tenant, TResult>(
  tenant: TTenant,
  fn: (tenant: TTenant) => TResult,
): TResult {
  return storage.run(tenant, fn, tenant)
}

/**
 * The tenant the current code runs as (inside `tenancy.run`, a lifecycle hook or a
 * `tenantScope({ context: true })` request), or `undefined` outside any.
 *
 * @example
 * const tenant = currentTenant()
 * logger.info({ tenant: tenant?.id }, 'export started')
 */
export function currentTenant(): RegisteredTenant | undefined {
  return storage.getStore() as RegisteredTenant | undefined
}

/**
 * The current tenant, or `NoTenantContextError` when there is none: the guard for code that
 * must never run unscoped. It never falls back to a default or a previous tenant.
 *
 * @example
 * export async function listInvoices() {
 *   return requireTenant().collection('invoices').find({}).toArray()
 * }
 */
export function requireTenant(): RegisteredTenant {
  const tenant = storage.getStore()
  if (tenant === undefined)
    throw new NoTenantContextError(
      'no tenant context: call this inside tenancy.run(...) or a request scoped by tenantScope',
    )
  return tenant as RegisteredTenant
}
