import { z } from 'zod'
import type { AdminAuth } from '../auth/admin-auth.js'
import { AdminEmailTakenError, ForbiddenError, OrganizationNameTakenError, OrganizationNotFoundError } from '../errors.js'
import * as fields from '../lib/fields.js'
import { newDataKey, newId } from '../lib/ids.js'
import { organizationNameKey } from '../lib/organization-name.js'
import { parseInput } from '../lib/parse-input.js'
import type { AdminPatch, AdminRecord, OrganizationPatch, OrganizationQuery, OrganizationRecord, TenantStore } from '../store.js'
import type { AuditLog } from '../audit-log.js'
import type { TenantCache } from '../context/tenant-cache.js'
import type { Tenant } from '../context/tenant-registry.js'

/** An organization as callers see it: no storage names, no internal state. */
export interface Organization {
  id: string
  name: string
  createdAt: Date
  updatedAt: Date
}

/** An admin as callers see it: never the password hash. */
export interface Admin {
  id: string
  organizationId: string
  email: string
}

export interface CreateOrganizationInput {
  name: string
  email: string
  password: string
}

export interface UpdateOrganizationInput {
  /** New display name; a rename keeps the tenant's data where it is. */
  name?: string
  /** New login email for the calling admin. */
  email?: string
  /** New password for the calling admin; revokes every token issued before. */
  password?: string
}

export interface MigrateOptions {
  /** Resume after this organization id (the `lastId` of an interrupted run). */
  after?: string
  /** Called after each organization. */
  onProgress?: (report: MigrationReport) => void
}

export interface MigrationReport {
  migrated: number
  /** The last organization id visited; pass it as `after` to resume. */
  lastId: string | undefined
}

const createSchema = z.object({ name: fields.organizationName, email: fields.email, password: fields.password })
const updateSchema = z.object({ name: fields.organizationName.optional(), email: fields.email.optional(), password: fields.password.optional() })

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
  readonly #store: TenantStore<unknown>
  readonly #auth: AdminAuth
  readonly #invalidation: TenantCache
  readonly #audit: AuditLog
  readonly #inFlightTimeoutMs: number

  constructor(store: TenantStore<unknown>, auth: AdminAuth, options: { invalidation: TenantCache; audit: AuditLog; inFlightTimeoutMs: number }) {
    this.#store = store
    this.#auth = auth
    this.#invalidation = options.invalidation
    this.#audit = options.audit
    this.#inFlightTimeoutMs = options.inFlightTimeoutMs
  }

  /** Creates an organization, its first admin and its data space. Throws a `TenantryError` on conflict or bad input. */
  async create(input: CreateOrganizationInput): Promise<{ organization: Organization; admin: Admin }> {
    const { name, email, password } = parseInput(createSchema, input)
    // Cheap early answer for the common conflict; the store's unique index is what decides races.
    await this.#claimEmail(email)
    const passwordHash = await this.#auth.hashPassword(password)
    const now = new Date()
    const org: OrganizationRecord = {
      id: newId(),
      name,
      nameKey: organizationNameKey(name),
      dataKey: newDataKey(),
      state: 'provisioning',
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    const admin: AdminRecord = { id: newId(), organizationId: org.id, email, passwordHash, tokenVersion: 0, createdAt: now, updatedAt: now }

    await this.#retryAfterRecovery(() => this.#store.insertOrganization(org), () => this.#recoverIfStale({ nameKey: org.nameKey }))
    try {
      await this.#retryAfterRecovery(() => this.#store.insertAdmin(admin), () => this.#claimEmail(email))
      await this.#store.provisionTenantData(org)
      const active = await this.#store.updateOrganization(org.id, { state: 'active', stateChangedAt: new Date() })
      if (!active) throw new OrganizationNotFoundError('the organization vanished while it was being created')
      await this.#audit.record({ type: 'organization.created', organizationId: org.id, adminId: admin.id, details: { name } })
      return { organization: toOrganization(active), admin: toAdmin(admin) }
    } catch (err) {
      // Best effort: if the undo fails too, the record stays `provisioning` (invisible) and is
      // torn down when its name or email is next claimed.
      await this.#tearDown(org).catch(() => {})
      throw err
    }
  }

  /** The active organization with this name (ignoring case and outer spaces), or `null`. */
  async get(name: string): Promise<Organization | null> {
    const parsed = parseInput(z.object({ name: fields.organizationName }), { name })
    const org = await this.#store.findOrganization({ nameKey: organizationNameKey(parsed.name) })
    return org?.state === 'active' ? toOrganization(org) : null
  }

  /** Renames the caller's organization and/or changes the calling admin's email or password. */
  async update(tenant: Pick<Tenant, 'id' | 'adminId'>, changes: UpdateOrganizationInput): Promise<Organization> {
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
    if (Object.keys(orgPatch).length === 0 && Object.keys(adminPatch).length === 0) return toOrganization(org)

    const now = new Date()
    const updated = await this.#store.updateOrganization(org.id, { ...orgPatch, updatedAt: now })
    this.#invalidation.invalidateOrganization(org.id)
    if (!updated) throw new OrganizationNotFoundError('the organization no longer exists')
    if (Object.keys(adminPatch).length > 0) {
      try {
        const changed = await this.#store.updateAdmin(admin.id, { ...adminPatch, updatedAt: now })
        if (!changed) throw new ForbiddenError('the admin no longer exists')
      } catch (err) {
        await this.#store.updateOrganization(org.id, { name: org.name, nameKey: org.nameKey, updatedAt: org.updatedAt }).catch(() => {})
        throw err
      } finally {
        // Also after a failure: the store may have applied the write before reporting the error.
        this.#invalidation.invalidateAdmin(admin.id)
        this.#invalidation.invalidateOrganization(org.id)
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
      details: { renamed: orgPatch.name !== undefined, emailChanged: adminPatch.email !== undefined, passwordChanged: adminPatch.passwordHash !== undefined },
    })
    return toOrganization(updated)
  }

  /** Deletes the caller's organization, its admins and its data. Tokens for it stop working at once. */
  async delete(tenant: Pick<Tenant, 'id'> & { adminId?: string }, name: string): Promise<void> {
    const parsed = parseInput(z.object({ name: fields.organizationName }), { name })
    const org = await this.#store.findOrganization({ nameKey: organizationNameKey(parsed.name) })
    if (org?.state !== 'active') throw new OrganizationNotFoundError('no organization has this name')
    if (org.id !== tenant.id) throw new ForbiddenError('only an admin of this organization may delete it')

    // From here on no token for this organization is honoured.
    await this.#store.updateOrganization(org.id, { state: 'deleting', stateChangedAt: new Date() })
    this.#invalidation.invalidateOrganization(org.id)
    try {
      await this.#store.dropTenantData(org)
    } catch (err) {
      // Nothing is lost yet, so give the organization back rather than leave it half-deleted.
      await this.#store.updateOrganization(org.id, { state: 'active', stateChangedAt: new Date() }).catch(() => {})
      this.#invalidation.invalidateOrganization(org.id)
      throw err
    }
    // The data is gone; a failure now leaves a `deleting` record that the next claim of its name
    // finishes off.
    await this.#store.deleteSessions({ organizationId: org.id })
    await this.#store.deleteAdmins(org.id)
    await this.#store.deleteAuditEvents(org.id)
    await this.#store.deleteOrganization(org.id)
    // The one event that outlives the organization: the record of its deletion.
    await this.#audit.record({ type: 'organization.deleted', organizationId: org.id, adminId: tenant.adminId ?? null, details: { name: org.name } })
  }

  /**
   * Re-runs provisioning on every active organization, so data spaces made before the store's
   * tenant indexes were declared get them. Idempotent; resumable by passing the `lastId` an
   * interrupted run reported as `after`.
   */
  async migrate(options: MigrateOptions = {}): Promise<MigrationReport> {
    const report: MigrationReport = { migrated: 0, lastId: options.after }
    for await (const org of this.#store.listOrganizations({ afterId: options.after })) {
      if (org.state === 'active') {
        await this.#store.provisionTenantData(org)
        report.migrated++
      }
      report.lastId = org.id
      options.onProgress?.({ ...report })
    }
    return report
  }

  /**
   * Finishes or undoes what a crash left behind: organizations stuck in flight for longer than
   * `inFlightTimeoutMs` are torn down, and data spaces no organization points at (a crash
   * between steps, or a write that raced a delete) are dropped. Run it at start-up.
   */
  async recover(): Promise<{ organizationsRemoved: number; orphanDataSpacesDropped: number }> {
    // Data keys first: a data space is always made after its organization record, so anything
    // created between these two listings shows up in the second and is never taken for an orphan.
    const dataKeys = await this.#store.listTenantDataKeys()
    const owned = new Set<string>()
    let organizationsRemoved = 0
    for await (const org of this.#store.listOrganizations()) {
      owned.add(org.dataKey)
      if (org.state !== 'active' && Date.now() - org.stateChangedAt.getTime() >= this.#inFlightTimeoutMs) {
        await this.#tearDown(org)
        organizationsRemoved++
      }
    }
    const orphans = dataKeys.filter((dataKey) => !owned.has(dataKey))
    for (const dataKey of orphans) await this.#store.dropTenantData({ dataKey })
    return { organizationsRemoved, orphanDataSpacesDropped: orphans.length }
  }

  /** Runs `insert`; on a uniqueness conflict, recovers the stale holder if there is one and tries once more. */
  async #retryAfterRecovery(insert: () => Promise<void>, recover: () => Promise<boolean>): Promise<void> {
    try {
      await insert()
    } catch (err) {
      if (!(err instanceof OrganizationNameTakenError || err instanceof AdminEmailTakenError)) throw err
      if (!(await recover())) throw err
      await insert()
    }
  }

  /** Frees the email if its holder is a stale in-flight organization; otherwise throws `AdminEmailTakenError`. */
  async #claimEmail(email: string): Promise<boolean> {
    const holder = await this.#store.findAdmin({ email })
    if (!holder) return true
    if (await this.#recoverIfStale({ id: holder.organizationId })) return true
    throw new AdminEmailTakenError('an admin with this email already exists')
  }

  async #recoverIfStale(query: OrganizationQuery): Promise<boolean> {
    const org = await this.#store.findOrganization(query)
    if (!org || org.state === 'active') return false
    if (Date.now() - org.stateChangedAt.getTime() < this.#inFlightTimeoutMs) return false
    await this.#tearDown(org)
    return true
  }

  /** Removes every trace of an organization; each step is idempotent, so it can be re-run. */
  async #tearDown(org: OrganizationRecord): Promise<void> {
    this.#invalidation.invalidateOrganization(org.id)
    await this.#store.dropTenantData(org)
    await this.#store.deleteSessions({ organizationId: org.id })
    await this.#store.deleteAdmins(org.id)
    await this.#store.deleteAuditEvents(org.id)
    await this.#store.deleteOrganization(org.id)
  }
}

function toOrganization(org: OrganizationRecord): Organization {
  return { id: org.id, name: org.name, createdAt: org.createdAt, updatedAt: org.updatedAt }
}

function toAdmin(admin: AdminRecord): Admin {
  return { id: admin.id, organizationId: admin.organizationId, email: admin.email }
}
