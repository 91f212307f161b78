import { z } from 'zod'
import type { AdminAuth } from '../auth/admin-auth.js'
import type { AuditLog } from '../audit-log.js'
import { AdminEmailTakenError, ForbiddenError, OrganizationNameTakenError, OrganizationNotFoundError, SlugTakenError, ValidationError } from '../errors.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { walkOrganizations, type WalkReport } from '../context/walk-organizations.js'
import * as fields from '../lib/fields.js'
import { newDataKey, newId } from '../lib/ids.js'
import { organizationNameKey } from '../lib/organization-name.js'
import { parseInput } from '../lib/parse-input.js'
import { writeRefused } from '../lib/write-outcome.js'
import type { AdminPatch, AdminRecord, OrganizationPatch, OrganizationRecord, TenantStore } from '../store.js'
import type { Tenant } from '../tenant.js'
import { OrgDomains, type OrganizationDomain } from './org-domains.js'
import type { Admin, CreateOrganizationInput, LifecycleHooks, MigrateOptions, MigrationReport, Organization, UpdateOrganizationInput } from './org-types.js'
import { OrgTeardown, type RecoveryReport } from './org-teardown.js'
import { slug as slugField, slugFromName, slugWithSuffix } from './slug.js'

export interface OrgServiceOptions {
  cache: TenantCache
  audit: AuditLog
  inFlightTimeoutMs: number
  reservedSlugs: ReadonlySet<string>
  baseDomains: readonly string[]
  hooks: LifecycleHooks
}

const createSchema = z.object({ name: fields.organizationName, email: fields.email, password: fields.password, slug: slugField.optional() })
const updateSchema = z.object({ name: fields.organizationName.optional(), slug: slugField.optional(), email: fields.email.optional(), password: fields.password.optional() })
const getSchema = z.union([z.object({ name: fields.organizationName }), z.object({ slug: slugField })])
const listSchema = z.object({ after: z.string().optional(), limit: z.number().int().min(1).max(1000).default(100) })
const SLUG_ATTEMPTS = 5

/**
 * The organization lifecycle. Every operation is all or nothing without needing transactions:
 * steps run in an order that keeps the organization invisible until it is whole (state
 * `provisioning`) and unusable as soon as its deletion starts (state `deleting`), and a failed
 * step undoes the ones before it. Work left in flight by a crash is finished or undone the next
 * time its name or email is claimed, once it is older than `inFlightTimeoutMs`.
 *
 * @example
 * const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password })
 */
export class OrgService {
  readonly #store: TenantStore
  readonly #auth: AdminAuth
  readonly #cache: TenantCache
  readonly #audit: AuditLog
  readonly #reservedSlugs: ReadonlySet<string>
  readonly #hooks: LifecycleHooks
  readonly #domains: OrgDomains
  readonly #teardown: OrgTeardown

  constructor(store: TenantStore, auth: AdminAuth, options: OrgServiceOptions) {
    this.#store = store
    this.#auth = auth
    this.#cache = options.cache
    this.#audit = options.audit
    this.#reservedSlugs = options.reservedSlugs
    this.#hooks = options.hooks
    this.#domains = new OrgDomains(store, options)
    this.#teardown = new OrgTeardown(store, options)
  }

  /** Creates an organization, its first admin and its data space. Throws a `TenantryError` on conflict or bad input. */
  async create(input: CreateOrganizationInput): Promise<{ organization: Organization; admin: Admin }> {
    const { name, email, password, slug } = parseInput(createSchema, input)
    if (slug !== undefined) this.#refuseReserved(slug)
    await this.#store.assertCapacity?.()
    // Cheap early answer for the common conflict; the store's unique index is what decides races.
    await this.#claimEmail(email)
    const passwordHash = await this.#auth.hashPassword(password)
    const now = new Date()
    const derived = slugFromName(name)
    const org: OrganizationRecord = {
      id: newId(),
      name,
      nameKey: organizationNameKey(name),
      slug: slug ?? (this.#reservedSlugs.has(derived) ? slugWithSuffix(derived) : derived),
      dataKey: newDataKey(),
      state: 'provisioning',
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    const admin: AdminRecord = { id: newId(), organizationId: org.id, email, passwordHash, tokenVersion: 0, createdAt: now, updatedAt: now }

    let active: OrganizationRecord | null
    try {
      await this.#insertOrganization(org, slug === undefined)
      await this.#retryAfterRecovery(() => this.#store.insertAdmin(admin), () => this.#claimEmail(email))
      await this.#store.provisionTenantData(org)
      if (this.#hooks.afterCreate) await this.#teardown.runHook(this.#hooks.afterCreate, org)
      // Conditional: a delayed activation can never land on an organization already being undone.
      active = await this.#store.transitionOrganization(org.id, { from: ['provisioning'], to: 'active' })
      if (!active) throw new OrganizationNotFoundError('the organization was removed while it was being created')
    } catch (err) {
      // The undo claims the organization only while it is still `provisioning`: if a step that
      // reported an error did apply (the activation among them), the claim fails and the
      // organization stays as it is, whole. If the undo fails too, the record stays invisible
      // and is torn down when its name or email is next claimed, or by recover().
      await this.#teardown.abandonCreate(org).catch(() => {})
      throw err
    }
    await this.#audit.record({ type: 'organization.created', organizationId: org.id, adminId: admin.id, details: { name, slug: org.slug } })
    return { organization: toOrganization(active), admin: toAdmin(admin) }
  }

  /** The active organization with this name (ignoring case and outer spaces) or slug, or `null`. */
  async get(ref: string | { name: string } | { slug: string }): Promise<Organization | null> {
    const parsed = parseInput(getSchema, typeof ref === 'string' ? { name: ref } : ref)
    const org = await this.#store.findOrganization('slug' in parsed ? { slug: parsed.slug } : { nameKey: organizationNameKey(parsed.name) })
    return org?.state === 'active' ? toOrganization(org) : null
  }

  /**
   * Active organizations in id order, `limit` (default 100, at most 1000) at a time. Pass `next`
   * as `after` for the following page; it is `null` after the last.
   *
   * @example
   * for (let page = await tenancy.orgs.list(); ; page = await tenancy.orgs.list({ after: page.next })) {
   *   console.log(page.organizations.map((org) => org.slug))
   *   if (!page.next) break
   * }
   */
  async list(options: { after?: string | null; limit?: number } = {}): Promise<{ organizations: Organization[]; next: string | null }> {
    const { after, limit } = parseInput(listSchema, { ...options, after: options.after ?? undefined })
    const organizations: Organization[] = []
    for await (const org of this.#store.listOrganizations({ afterId: after })) {
      if (org.state !== 'active') continue
      // One more than asked for tells whether there is a next page.
      if (organizations.length === limit) return { organizations, next: organizations.at(-1)!.id }
      organizations.push(toOrganization(org))
    }
    return { organizations, next: null }
  }

  /** Renames the caller's organization, changes its slug, and/or changes the calling admin's email or password. */
  async update(tenant: Pick<Tenant, 'id'> & { adminId: string }, changes: UpdateOrganizationInput): Promise<Organization> {
    const input = parseInput(updateSchema, changes)
    const org = await this.#store.findOrganization({ id: tenant.id })
    if (org?.state !== 'active') throw new OrganizationNotFoundError('the organization no longer exists')
    const admin = await this.#store.findAdmin({ id: tenant.adminId })
    if (admin?.organizationId !== org.id) throw new ForbiddenError('only an admin of this organization may update it')

    const adminPatch: AdminPatch = {}
    if (input.email !== undefined && input.email !== admin.email) {
      if (await this.#store.findAdmin({ email: input.email })) throw new AdminEmailTakenError('an admin with this email already exists')
      adminPatch.email = input.email
    }
    if (input.password !== undefined) {
      adminPatch.passwordHash = await this.#auth.hashPassword(input.password)
      adminPatch.tokenVersion = admin.tokenVersion + 1
    }
    const orgPatch: OrganizationPatch = {}
    if (input.name !== undefined && input.name !== org.name) Object.assign(orgPatch, { name: input.name, nameKey: organizationNameKey(input.name) })
    if (input.slug !== undefined && input.slug !== org.slug) {
      this.#refuseReserved(input.slug)
      orgPatch.slug = input.slug
    }
    if (Object.keys(orgPatch).length === 0 && Object.keys(adminPatch).length === 0) return toOrganization(org)

    const now = new Date()
    // Invalidated also after a failure: the write may have applied before the error.
    const updated = await this.#store.updateOrganization(org.id, { ...orgPatch, updatedAt: now }).finally(() => this.#cache.invalidateOrganization(org.id))
    if (!updated) throw new OrganizationNotFoundError('the organization no longer exists')
    if (Object.keys(adminPatch).length > 0) {
      try {
        const changed = await this.#store.updateAdmin(admin.id, { ...adminPatch, updatedAt: now })
        if (!changed) throw new ForbiddenError('the admin no longer exists')
      } catch (err) {
        // Undo the rename only when the credential change certainly did not apply; one that may
        // have applied stays with the rename, and the caller's retry (idempotent) settles it.
        if (writeRefused(err)) await this.#store.updateOrganization(org.id, { name: org.name, nameKey: org.nameKey, slug: org.slug, updatedAt: org.updatedAt }).catch(() => {})
        throw err
      } finally {
        // Also after a failure: the store may have applied the write before reporting the error.
        this.#cache.invalidateAdmin(admin.id)
        this.#cache.invalidateOrganization(org.id)
      }
      // A new password ends every session: the token version already stops their access
      // tokens; this stops their refresh tokens.
      if (adminPatch.passwordHash !== undefined) {
        await this.#store.deleteSessions({ adminId: admin.id })
        await this.#audit.record({ type: 'sessions.revoked', organizationId: org.id, adminId: admin.id, details: { reason: 'password_changed' } })
      }
    }
    await this.#audit.record({
      type: 'organization.updated',
      organizationId: org.id,
      adminId: admin.id,
      details: { renamed: orgPatch.name !== undefined, reslugged: orgPatch.slug !== undefined, emailChanged: adminPatch.email !== undefined, passwordChanged: adminPatch.passwordHash !== undefined },
    })
    return toOrganization(updated)
  }

  /** Deletes the caller's organization, its admins, domains and data. Tokens for it stop working at once. */
  async delete(tenant: Pick<Tenant, 'id' | 'adminId'>, name: string): Promise<void> {
    const parsed = parseInput(z.object({ name: fields.organizationName }), { name })
    const org = await this.#store.findOrganization({ nameKey: organizationNameKey(parsed.name) })
    if (org?.state !== 'active') throw new OrganizationNotFoundError('no organization has this name')
    if (org.id !== tenant.id) throw new ForbiddenError('only an admin of this organization may delete it')

    // From here on no token, slug or domain of this organization is honoured. Of two deletes
    // (or a delete and anything else that changes state), exactly one gets past this claim.
    const claimed = await this.#store.transitionOrganization(org.id, { from: ['active'], to: 'deleting' }).finally(() => this.#cache.invalidateOrganization(org.id))
    if (!claimed) throw new OrganizationNotFoundError('no organization has this name')
    if (this.#hooks.beforeDelete) {
      try {
        await this.#teardown.runHook(this.#hooks.beforeDelete, claimed)
      } catch (err) {
        // Nothing of tenantry's is touched yet, so give the organization back intact.
        await this.#store.transitionOrganization(org.id, { from: ['deleting'], to: 'active' }).catch(() => {})
        this.#cache.invalidateOrganization(org.id)
        throw err
      }
    }
    // From the first dropped collection or document on, there is no going back: a failure leaves
    // the organization `deleting` (invisible, no token honoured) for recover() or the next claim
    // of its name to finish. Giving it back could hand out a tenant with half its data.
    await this.#teardown.tearDown(claimed, { hooks: false })
    // The one event that outlives the organization: the record of its deletion.
    await this.#audit.record({ type: 'organization.deleted', organizationId: org.id, adminId: tenant.adminId ?? null, details: { name: org.name } })
  }

  /** Adds a custom domain to an organization. The host proves the customer owns it first (DNS TXT); tenantry does not. */
  addDomain(organizationId: string, domain: string, context?: { adminId?: string }): Promise<OrganizationDomain> {
    return this.#domains.add(organizationId, domain, context)
  }

  /** Removes a custom domain; it stops resolving at once. `DomainNotFoundError` if the organization does not hold it. */
  removeDomain(organizationId: string, domain: string, context?: { adminId?: string }): Promise<void> {
    return this.#domains.remove(organizationId, domain, context)
  }

  /** The organization's custom domains, ordered by name. */
  listDomains(organizationId: string): Promise<OrganizationDomain[]> {
    return this.#domains.list(organizationId)
  }

  /**
   * Re-runs provisioning on every active organization, so data spaces made before the store's
   * tenant indexes were declared get them, and gives organizations stored before slugs existed
   * a slug. Idempotent; resumable by passing the `lastId` an interrupted run reported as `after`.
   */
  async migrate(options: MigrateOptions = {}): Promise<MigrationReport> {
    const { onProgress, ...walk } = options
    const migration = (report: WalkReport): MigrationReport => ({ migrated: report.visited, lastId: report.lastId })
    const report = await walkOrganizations(
      this.#store,
      async (org) => {
        if (org.state !== 'active') return false
        await this.#store.provisionTenantData(org)
        if (typeof org.slug !== 'string') await this.#backfillSlug(org)
        return true
      },
      { ...walk, onProgress: onProgress && ((progress) => onProgress(migration(progress))) },
    )
    return migration(report)
  }

  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, and data spaces and admins no organization owns are
   * removed. Run it at start-up; safe to run on several instances at once.
   */
  recover(): Promise<RecoveryReport> {
    return this.#teardown.recover()
  }

  #refuseReserved(slug: string): void {
    if (this.#reservedSlugs.has(slug)) throw new ValidationError([{ pointer: '#/slug', detail: 'is reserved' }])
  }

  /**
   * Inserts the record. A conflict with a stale in-flight holder recovers it and retries; a
   * derived slug that is taken gets a random suffix and retries; a slug the caller chose does not.
   */
  async #insertOrganization(org: OrganizationRecord, slugDerived: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#store.insertOrganization(org)
      } catch (err) {
        if (attempt >= SLUG_ATTEMPTS) throw err
        if (err instanceof OrganizationNameTakenError) {
          if (!(await this.#teardown.recoverIfStale({ nameKey: org.nameKey }))) throw err
        } else if (err instanceof SlugTakenError) {
          if (await this.#teardown.recoverIfStale({ slug: org.slug })) continue
          if (!slugDerived) throw err
          org.slug = slugWithSuffix(slugFromName(org.name))
        } else throw err
      }
    }
  }

  async #backfillSlug(org: OrganizationRecord): Promise<void> {
    let slug = slugFromName(org.name)
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#store.updateOrganization(org.id, { slug: this.#reservedSlugs.has(slug) ? slugWithSuffix(slug) : slug })
        this.#cache.invalidateOrganization(org.id)
        return
      } catch (err) {
        if (!(err instanceof SlugTakenError) || attempt >= SLUG_ATTEMPTS) throw err
        slug = slugWithSuffix(slugFromName(org.name))
      }
    }
  }

  /** Runs `insert`; on a uniqueness conflict, recovers the stale holder if there is one and tries once more. */
  async #retryAfterRecovery(insert: () => Promise<void>, recover: () => Promise<boolean>): Promise<void> {
    try {
      await insert()
    } catch (err) {
      if (!(err instanceof AdminEmailTakenError)) throw err
      if (!(await recover())) throw err
      await insert()
    }
  }

  /** Frees the email if its holder is a stale in-flight organization; otherwise throws `AdminEmailTakenError`. */
  async #claimEmail(email: string): Promise<boolean> {
    const holder = await this.#store.findAdmin({ email })
    if (!holder) return true
    if (await this.#teardown.recoverIfStale({ id: holder.organizationId })) return true
    // An admin whose insert landed after its organization's teardown.
    if (await this.#teardown.removeIfOrphan(holder)) return true
    throw new AdminEmailTakenError('an admin with this email already exists')
  }
}

function toOrganization(org: OrganizationRecord): Organization {
  return { id: org.id, name: org.name, slug: org.slug, createdAt: org.createdAt, updatedAt: org.updatedAt }
}

function toAdmin(admin: AdminRecord): Admin {
  return { id: admin.id, organizationId: admin.organizationId, email: admin.email }
}
