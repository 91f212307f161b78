import { runAsTenant } from '../context/tenant-context.js'
import { tenantOf } from '../context/mint-tenant.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { OrganizationNotFoundError } from '../errors.js'
import type { AdminRecord, OrganizationQuery, OrganizationRecord, TenantStore } from '../store.js'
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

  /** Undoes a create that failed: only while the organization is still `provisioning`, never one whose activation applied. */
  async abandonCreate(org: OrganizationRecord): Promise<void> {
    const claimed = await this.#store.transitionOrganization(org.id, { from: ['provisioning'], to: 'deleting' })
    if (claimed) await this.tearDown(claimed, { hooks: false })
  }

  /**
   * Tears down the organization `query` names if it is in flight and older than the timeout by
   * the store's clock; answers whether it did. The claim is a conditional write, so of several
   * instances recovering at once exactly one acts, and never on a stale read.
   */
  async recoverIfStale(query: OrganizationQuery): Promise<boolean> {
    const org = await this.#store.findOrganization(query)
    if (!org || org.state === 'active') return false
    return this.#claimAndTearDown(org)
  }

  /** Removes an admin whose organization no longer exists (its insert landed after the teardown); answers whether it did. */
  async removeIfOrphan(admin: Pick<AdminRecord, 'organizationId'>): Promise<boolean> {
    // Organizations are inserted before their admins, so an admin without one is an orphan for good.
    if (await this.#store.findOrganization({ id: admin.organizationId })) return false
    await this.#store.deleteAdmins(admin.organizationId)
    return true
  }

  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, data spaces no organization points at (a crash between
   * steps, or a write that raced a delete) are dropped, and admins whose organization is gone
   * are removed.
   */
  async recover(): Promise<RecoveryReport> {
    // Data keys first: a data space is always made after its organization record, so anything
    // created between these two listings shows up in the second and is never taken for an orphan.
    const dataKeys = await this.#store.listTenantDataKeys()
    const owned = new Set<string>()
    let organizationsRemoved = 0
    for await (const org of this.#store.listOrganizations()) {
      // A store keys data by data key, or on a shared strategy by organization id.
      owned.add(org.dataKey)
      owned.add(org.id)
      // The listing may be stale by now: the claim re-checks state and age on the store.
      if (org.state !== 'active' && (await this.#claimAndTearDown(org))) organizationsRemoved++
    }
    const orphans = dataKeys.filter((dataKey) => !owned.has(dataKey))
    for (const dataKey of orphans) await this.#store.dropTenantData({ id: dataKey, dataKey })
    let orphanAdminsRemoved = 0
    for await (const admin of this.#store.listAdmins()) {
      if (owned.has(admin.organizationId)) continue
      if (await this.removeIfOrphan(admin)) orphanAdminsRemoved++
    }
    return { organizationsRemoved, orphanDataSpacesDropped: orphans.length, orphanAdminsRemoved }
  }

  async #claimAndTearDown(org: OrganizationRecord): Promise<boolean> {
    const claimed = await this.#store.transitionOrganization(org.id, { from: ['provisioning', 'deleting'], to: 'deleting', staleForMs: this.#inFlightTimeoutMs })
    if (!claimed) return false
    // An interrupted delete gets its beforeDelete again; an interrupted create never had one.
    await this.tearDown({ ...claimed, state: org.state }, { hooks: true })
    return true
  }
}

/** What `recover()` removed. */
export interface RecoveryReport {
  organizationsRemoved: number
  orphanDataSpacesDropped: number
  orphanAdminsRemoved: number
}
