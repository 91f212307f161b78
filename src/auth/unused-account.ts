import type { TenantCache } from '../context/tenant-cache.js'
import type { Store } from '../store.js'

/**
 * Removes an account that belongs nowhere, and drops it from the cache; answers whether it did.
 * An account lives as long as one of its memberships: a member's removal, an organization's
 * teardown and an undone create or accept all end with this. Listing first is not atomic with
 * the delete; each caller removes only an account it has reason to think unused. With
 * `staleForMs`, only one at least that old by the store's clock (a younger one may be a create
 * whose membership is still on its way).
 */
export async function removeAccountIfUnused(
  store: Store,
  cache: TenantCache,
  accountId: string,
  options: { staleForMs?: number } = {},
): Promise<boolean> {
  // Stryker disable next-line BooleanLiteral: the one caller then fails as taken
  if ((await store.records.memberships.list({ accountId })).length > 0) return false
  const removed = await store.records.accounts.delete(accountId, options)
  cache.invalidateAccount(accountId)
  return removed
}
