import { removeAccountIfUnused } from '../auth/unused-account.js'
import { runAsTenant } from '../context/tenant-context.js'
import { tenantOf } from '../context/mint-tenant.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { OrganizationNotFoundError } from '../errors.js'
import type { Store } from '../store.js'
import type { OrganizationQuery, OrganizationRecord, OrganizationState } from './records.js'
import type { Tenant } from '../tenant.js'
import type { LifecycleHooks } from './organization-types.js'

/** The most accounts one `memberships.list({ accountIds })` asks about. */
const ACCOUNTS_PER_CHECK = 1000

/**
 * Removing organizations: the last steps of a delete, the undo of a failed create, and the
 * recovery of either when a crash left it in flight. Every step is idempotent, so any of them
 * can run again after a failure.
 */
export class OrganizationTeardown {
  readonly #store: Store
  readonly #cache: TenantCache
  readonly #hooks: LifecycleHooks
  readonly #inFlightTimeoutMs: number

  constructor(store: Store, options: { cache: TenantCache; hooks: LifecycleHooks; inFlightTimeoutMs: number }) {
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
   * Deletes an active organization: claims it (`deleting`; from then on no token, slug or domain
   * of it is honoured), runs `beforeDelete`, and tears it down. `OrganizationNotFoundError` if
   * another change claimed it first.
   */
  async deleteActive(org: OrganizationRecord, from: OrganizationState[] = ['active']): Promise<void> {
    // From here on no token, slug or domain of this organization is honoured. Of two deletes
    // (or a delete and anything else that changes state), exactly one gets past this claim.
    const claimed = await this.#store.records.organizations
      .transition(org.id, { from, to: 'deleting' })
      .finally(() => this.#cache.invalidateOrganization(org.id))
    if (!claimed) throw new OrganizationNotFoundError('no organization has this name')
    if (this.#hooks.beforeDelete) {
      try {
        await this.runHook(this.#hooks.beforeDelete, claimed)
      } catch (err) {
        // Nothing of tenantry's is touched yet, so give the organization back intact.
        await this.#store.records.organizations
          .transition(org.id, { from: ['deleting'], to: org.state })
          .catch(() => {})
        this.#cache.invalidateOrganization(org.id)
        throw err
      }
    }
    // From the first dropped collection or document on, there is no going back: a failure leaves
    // the organization `deleting` (invisible, no token honoured) for recover() or the next claim
    // of its name to finish. Giving it back could hand out a tenant with half its data.
    await this.tearDown(claimed, { hooks: false })
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
    await this.#store.data.drop(org)
    await this.#store.records.sessions.delete({ organizationId: org.id })
    await this.#store.records.domains?.deleteByOrganization(org.id)
    await this.#store.records.invitations.deleteByOrganization(org.id)
    // An account lives while it belongs somewhere: one this organization was its last goes too,
    // before the memberships, so a teardown cut short and run again by recover() still finds it.
    const memberships = await this.#store.records.memberships.list({ organizationId: org.id })
    const accountIds = memberships.map((membership) => membership.accountId)
    // Checked a thousand members at a time, not one round trip each.
    for (let start = 0; start < accountIds.length; start += ACCOUNTS_PER_CHECK)
      await this.#removeIfOnlyHere(accountIds.slice(start, start + ACCOUNTS_PER_CHECK), org.id)
    await this.#store.records.memberships.deleteByOrganization(org.id)
    await this.#store.records.audit?.deleteByOrganization(org.id)
    await this.#store.records.organizations.delete(org.id)
  }

  /** Undoes a create that failed: only while the organization is still `provisioning`, never one whose activation applied. */
  async abandonCreate(org: OrganizationRecord): Promise<void> {
    const claimed = await this.#store.records.organizations.transition(org.id, {
      from: ['provisioning'],
      to: 'deleting',
    })
    if (claimed) await this.tearDown(claimed, { hooks: false })
  }

  /**
   * After a create's transaction failed: drops the data space if the organization's record is
   * not there (rolled back, so never made), which a provider outside the transaction kept. One
   * whose commit applied after all keeps everything.
   */
  async dropIfNeverMade(org: OrganizationRecord): Promise<void> {
    if (!(await this.#store.records.organizations.find({ id: org.id }))) await this.#store.data.drop(org)
  }

  /**
   * Tears down the organization `query` names if it is in flight and older than the timeout by
   * the store's clock; answers whether it did. The claim is a conditional write, so of several
   * instances recovering at once exactly one acts, and never on a stale read.
   */
  async recoverIfStale(query: OrganizationQuery): Promise<boolean> {
    const org = await this.#store.records.organizations.find(query)
    if (org?.state !== 'provisioning' && org?.state !== 'deleting') return false
    return this.#claimAndTearDown(org)
  }

  /**
   * Removes an account that belongs nowhere and is older than the in-flight timeout (what an
   * interrupted create or teardown leaves); answers whether it did. A younger one may be a
   * create whose membership is still on its way.
   */
  removeIfOrphan(accountId: string): Promise<boolean> {
    return removeAccountIfUnused(this.#store, this.#cache, accountId, { staleForMs: this.#inFlightTimeoutMs })
  }

  /** Removes each account whose only memberships are in `organizationId`, which is being torn down. */
  async #removeIfOnlyHere(accountIds: string[], organizationId: string): Promise<void> {
    const memberships = await this.#store.records.memberships.list({ accountIds })
    const elsewhere = new Set(
      memberships.filter((membership) => membership.organizationId !== organizationId).map((m) => m.accountId),
    )
    for (const accountId of accountIds) {
      if (elsewhere.has(accountId)) continue
      await this.#store.records.accounts.delete(accountId)
      this.#cache.invalidateAccount(accountId)
    }
  }

  /** Removes the account if it has no membership; answers whether it did. */
  removeIfUnused(accountId: string): Promise<boolean> {
    return removeAccountIfUnused(this.#store, this.#cache, accountId)
  }

  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, data spaces no organization points at (a crash between
   * steps, or a write that raced a delete) are dropped, and memberships whose organization is
   * gone are removed.
   */
  async recover(): Promise<RecoveryReport> {
    // Data keys first: a data space is always made after its organization record, so anything
    // created between these two listings shows up in the second and is never taken for an orphan.
    const dataKeys = await this.#store.data.listKeys()
    const owned = new Set<string>()
    let organizationsRemoved = 0
    for await (const org of this.#store.records.organizations.list()) {
      // A store keys data by data key, or on a shared strategy by organization id.
      owned.add(org.dataKey)
      owned.add(org.id)
      // The listing may be stale by now: the claim re-checks state and age on the store.
      const inFlight = org.state === 'provisioning' || org.state === 'deleting'
      if (inFlight && (await this.#claimAndTearDown(org))) organizationsRemoved++
    }
    const orphans = dataKeys.filter((dataKey) => !owned.has(dataKey))
    for (const dataKey of orphans) await this.#store.data.drop({ id: dataKey, dataKey })
    // Memberships whose organization is gone (an insert that landed after its teardown), and
    // the accounts they leave belonging nowhere. Organizations are inserted before their
    // memberships, so one without its organization is an orphan for good.
    let orphanMembershipsRemoved = 0
    for await (const membership of this.#store.records.memberships.walk()) {
      if (
        owned.has(membership.organizationId) ||
        (await this.#store.records.organizations.find({ id: membership.organizationId }))
      )
        continue
      await this.#store.records.memberships.delete(membership.id, membership.organizationId)
      const account = await this.#store.records.accounts.find({ id: membership.accountId })
      if (account) await this.removeIfOrphan(account.id)
      orphanMembershipsRemoved++
    }
    return { organizationsRemoved, orphanDataSpacesDropped: orphans.length, orphanMembershipsRemoved }
  }

  async #claimAndTearDown(org: OrganizationRecord): Promise<boolean> {
    const claimed = await this.#store.records.organizations.transition(org.id, {
      from: ['provisioning', 'deleting'],
      to: 'deleting',
      staleForMs: this.#inFlightTimeoutMs,
    })
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
  orphanMembershipsRemoved: number
}
