import { runAsTenant } from '../context/tenant-context.js'
import { tenantOf } from '../context/mint-tenant.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { OrganizationNotFoundError } from '../errors.js'
import type { OrganizationQuery, OrganizationRecord, TenantStore } from '../store.js'
import type { Tenant } from '../tenant.js'
import type { LifecycleHooks } from './org-types.js'

/**
 * Removing organizations: the last steps of a delete, the undo of a failed create, and the
 * recovery of either when a crash left it in flight. Every step is idempotent, so any of them
 * can run again after a failure.
 */
export class OrgTeardown {
  readonly #store: TenantStore
  readonly #cache: TenantCache
  readonly #hooks: LifecycleHooks
  readonly #inFlightTimeoutMs: number

  constructor(store: TenantStore, options: { cache: TenantCache; hooks: LifecycleHooks; inFlightTimeoutMs: number }) {
    this.#store = store
    this.#cache = options.cache
    this.#hooks = options.hooks
    this.#inFlightTimeoutMs = options.inFlightTimeoutMs
  }

  /** Runs a lifecycle hook as the organization's tenant: `currentTenant()` inside it is that organization. */
  async runHook(hook: (tenant: Tenant) => unknown, org: OrganizationRecord): Promise<void> {
    await runAsTenant(tenantOf(org, this.#store), hook)
  }

  /**
   * Removes every trace of an organization. With `hooks`, an interrupted delete gets its
   * `beforeDelete` again, unless its data is already gone (the hook always ran before the drop).
   */
  async tearDown(org: OrganizationRecord, options: { hooks: boolean }): Promise<void> {
    this.#cache.invalidateOrganization(org.id)
    if (options.hooks && org.state === 'deleting' && this.#hooks.beforeDelete) {
      try {
        await this.runHook(this.#hooks.beforeDelete, org)
      } catch (err) {
        if (!(err instanceof OrganizationNotFoundError)) throw err
      }
    }
    await this.#store.dropTenantData(org)
    await this.#store.deleteSessions({ organizationId: org.id })
    await this.#store.deleteDomains(org.id)
    await this.#store.deleteAdmins(org.id)
    await this.#store.deleteAuditEvents(org.id)
    await this.#store.deleteOrganization(org.id)
  }

  /** Tears down the organization `query` names if it is in flight and older than the timeout; answers whether it did. */
  async recoverIfStale(query: OrganizationQuery): Promise<boolean> {
    const org = await this.#store.findOrganization(query)
    if (!org || !this.#isStale(org)) return false
    await this.tearDown(org, { hooks: true })
    return true
  }

  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, and data spaces no organization points at (a crash
   * between steps, or a write that raced a delete) are dropped.
   */
  async recover(): Promise<{ organizationsRemoved: number; orphanDataSpacesDropped: number }> {
    // Data keys first: a data space is always made after its organization record, so anything
    // created between these two listings shows up in the second and is never taken for an orphan.
    const dataKeys = await this.#store.listTenantDataKeys()
    const owned = new Set<string>()
    let organizationsRemoved = 0
    for await (const org of this.#store.listOrganizations()) {
      // A store keys data by data key, or on a shared strategy by organization id.
      owned.add(org.dataKey)
      owned.add(org.id)
      if (this.#isStale(org)) {
        await this.tearDown(org, { hooks: true })
        organizationsRemoved++
      }
    }
    const orphans = dataKeys.filter((dataKey) => !owned.has(dataKey))
    for (const dataKey of orphans) await this.#store.dropTenantData({ id: dataKey, dataKey })
    return { organizationsRemoved, orphanDataSpacesDropped: orphans.length }
  }

  #isStale(org: OrganizationRecord): boolean {
    return org.state !== 'active' && Date.now() - org.stateChangedAt.getTime() >= this.#inFlightTimeoutMs
  }
}
