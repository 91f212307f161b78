import type { Accounts } from '../auth/accounts.js'
import type { Auth } from '../auth/auth.js'
import type { AuditLog } from './audit-log.js'
import {
  EmailTakenError,
  NotAMemberError,
  OrganizationNameTakenError,
  OrganizationNotFoundError,
  PermissionDeniedError,
  SlugTakenError,
  ValidationError,
} from '../errors.js'
import type { TenantCache } from '../context/tenant-cache.js'
import { newDataKey, newId } from '../lib/ids.js'
import { organizationNameKey } from '../lib/organization-name.js'
import { parseInput } from '../lib/parse-input.js'
import { writeRefused } from '../lib/write-outcome.js'
import type { Store } from '../store.js'
import type { AccountPatch, AccountRecord, OrganizationRecord } from './records.js'
import type { MemberTenant } from '../tenant.js'
import type { Limits } from '../members/limits.js'
import type { Roles } from '../members/roles.js'
import { loadCaller, type Caller } from '../members/caller.js'
import type { OrganizationDomains, OrganizationDomain } from './organization-domains.js'
import type {
  CreateOrganizationInput,
  LifecycleHooks,
  Member,
  Organization,
  UpdateOrganizationInput,
} from './organization-types.js'
import type { OrganizationTeardown } from './organization-teardown.js'
import { organizationPatch, toOrganization } from './organization-fields.js'
import { organizationInput } from './organization-input.js'
import { slugFromName, slugWithSuffix } from './slug.js'

export interface OrganizationServiceOptions {
  cache: TenantCache
  audit: AuditLog
  reservedSlugs: ReadonlySet<string>
  hooks: LifecycleHooks
  roles: Roles
  domains: OrganizationDomains
  teardown: OrganizationTeardown
  accounts: Accounts
  checkMetadata: (value: unknown) => Record<string, unknown>
  limits: Limits
}

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
export class OrganizationService {
  readonly #store: Store
  readonly #auth: Auth
  readonly #cache: TenantCache
  readonly #audit: AuditLog
  readonly #reservedSlugs: ReadonlySet<string>
  readonly #hooks: LifecycleHooks
  readonly #domains: OrganizationDomains
  readonly #teardown: OrganizationTeardown
  readonly #roles: Roles
  readonly #accounts: Accounts
  readonly #checkMetadata: (value: unknown) => Record<string, unknown>
  readonly #limits: Limits

  constructor(store: Store, auth: Auth, options: OrganizationServiceOptions) {
    this.#store = store
    this.#auth = auth
    this.#cache = options.cache
    this.#audit = options.audit
    this.#reservedSlugs = options.reservedSlugs
    this.#hooks = options.hooks
    this.#domains = options.domains
    this.#teardown = options.teardown
    this.#roles = options.roles
    this.#accounts = options.accounts
    this.#checkMetadata = options.checkMetadata
    this.#limits = options.limits
  }

  /**
   * Creates an organization, its owner's membership and its data space. The owner's account is
   * new, or, when the email already has one, that account, but only with its own password:
   * otherwise the answer is `EmailTakenError`, as for any taken email.
   */
  async create(
    input: CreateOrganizationInput,
    context: { clientAddress?: string } = {},
  ): Promise<{ organization: Organization; owner: Member }> {
    const parsed = parseInput(organizationInput.create, input)
    await this.#auth.countSignUp(context.clientAddress)
    const { name, slug } = parsed
    if (slug !== undefined) this.#refuseReserved(slug)
    await this.#store.data.assertCapacity?.()
    const now = new Date()
    const derived = slugFromName(name)
    const membershipId = newId()
    const org: OrganizationRecord = {
      id: newId(),
      name,
      nameKey: organizationNameKey(name),
      slug: slug ?? (this.#reservedSlugs.has(derived) ? slugWithSuffix(derived) : derived),
      dataKey: newDataKey(),
      ownerId: membershipId,
      state: 'provisioning',
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    const [records, afterCreate] = [this.#store.records, this.#hooks.afterCreate]
    let createdAccountId: string | undefined
    const make = async () => {
      // The name first: claiming it may finish an interrupted delete, which removes that
      // organization's last-membership accounts, so the account is looked up only after.
      await this.#insertOrganization(org, slug === undefined)
      let account: AccountRecord
      if ('owner' in parsed) {
        account = await this.#accounts.linkRecord(parsed.owner)
      } else {
        const { email, password } = parsed
        account =
          (await this.#existingAccount(email, password)) ??
          (await this.#insertAccount(email, password, now, (id) => (createdAccountId = id)))
      }
      await this.#limits.insertMembership({
        id: membershipId,
        accountId: account.id,
        organizationId: org.id,
        role: 'admin',
        createdAt: now,
        updatedAt: now,
      })
      await this.#store.data.provision(org)
      return account
    }
    const activate = async () => {
      // Conditional: a delayed activation can never land on an organization already being undone.
      const done = await records.organizations.transition(org.id, { from: ['provisioning'], to: 'active' })
      if (!done) throw new OrganizationNotFoundError('the organization was removed while it was being created')
      return done
    }
    let active: OrganizationRecord, account: AccountRecord
    try {
      if (records.transaction && !afterCreate) {
        // One commit: records, owner, data space and activation, or none of them.
        ;[account, active] = await records.transaction(async () => [await make(), await activate()] as const)
      } else {
        // The hook sees the data space committed, so the activation follows it on its own.
        account = records.transaction ? await records.transaction(make) : await make()
        if (afterCreate) await this.#teardown.runHook(afterCreate, org)
        active = await activate()
      }
    } catch (err) {
      // Claims only a `provisioning` organization: one whose activation or commit applied after all
      // stays whole. A failed undo leaves it invisible, for its name's next claim or recover().
      await this.#teardown.abandonCreate(org).catch(() => {})
      // A rolled-back transaction took the records with it, but not a data space kept elsewhere.
      if (records.transaction) await this.#teardown.dropIfNeverMade(org).catch(() => {})
      // An account made for this create (its insert may have applied even if it reported an error) goes with it.
      if (createdAccountId !== undefined) await this.#teardown.removeIfUnused(createdAccountId).catch(() => {})
      throw err
    }
    // Its name, slug and id may be remembered as missing, here and on other instances.
    this.#cache.invalidateOrganization(org.id)
    await this.#audit.record({
      type: 'organization.created',
      organizationId: org.id,
      accountId: account.id,
      details: { name, slug: org.slug },
    })
    return {
      organization: toOrganization(active),
      owner: {
        id: membershipId,
        accountId: account.id,
        organizationId: org.id,
        email: account.email,
        role: 'owner',
        createdAt: now,
      },
    }
  }

  /** The active organization with this name (ignoring case and outer spaces) or slug, or `null`. */
  async get(ref: string | { name: string } | { slug: string }): Promise<Organization | null> {
    const parsed = parseInput(organizationInput.get, typeof ref === 'string' ? { name: ref } : ref)
    const org = await this.#store.records.organizations.find(
      'slug' in parsed ? { slug: parsed.slug } : { nameKey: organizationNameKey(parsed.name) },
    )
    return org?.state === 'active' ? toOrganization(org) : null
  }

  /**
   * Renames the caller's organization or changes its slug (permission `org:update`), and/or
   * changes the calling member's own email or password (anyone may).
   */
  async update(tenant: Pick<MemberTenant, 'id' | 'member'>, changes: UpdateOrganizationInput): Promise<Organization> {
    const input = parseInput(organizationInput.update, changes)
    const { org, membership, role } = await loadCaller(this.#store, tenant)
    const account = await this.#store.records.accounts.find({ id: membership.accountId })
    if (!account) throw new NotAMemberError('the account no longer exists')

    const orgPatch = organizationPatch(org, input, {
      reservedSlugs: this.#reservedSlugs,
      checkMetadata: this.#checkMetadata,
    })
    // Sending the current name or slug changes nothing, and needs nothing.
    if (Object.keys(orgPatch).length > 0 && !this.#roles.can(role, 'org:update'))
      throw new PermissionDeniedError('renaming the organization or changing its slug needs the org:update permission')
    const accountPatch: AccountPatch = {}
    if (input.email !== undefined && input.email !== account.email) {
      if (await this.#store.records.accounts.find({ email: input.email }))
        throw new EmailTakenError('an account with this email already exists')
      accountPatch.email = input.email
    }
    if (input.password !== undefined) {
      accountPatch.passwordHash = await this.#auth.hashPassword(input.password)
      accountPatch.tokenVersion = account.tokenVersion + 1
    }
    if (Object.keys(orgPatch).length === 0 && Object.keys(accountPatch).length === 0) return toOrganization(org)

    const now = new Date()
    // Invalidated also after a failure: the write may have applied before the error.
    const updated = await this.#store.records.organizations
      .update(org.id, { ...orgPatch, updatedAt: now })
      .finally(() => this.#cache.invalidateOrganization(org.id))
    if (!updated) throw new OrganizationNotFoundError('the organization no longer exists')
    if (Object.keys(accountPatch).length > 0) {
      try {
        const changed = await this.#store.records.accounts.update(account.id, { ...accountPatch, updatedAt: now })
        if (!changed) throw new NotAMemberError('the account no longer exists')
      } catch (err) {
        // Undo the rename only when the credential change certainly did not apply; one that may
        // have applied stays with the rename, and the caller's retry (idempotent) settles it.
        if (writeRefused(err))
          await this.#store.records.organizations
            .update(org.id, {
              name: org.name,
              nameKey: org.nameKey,
              slug: org.slug,
              updatedAt: org.updatedAt,
            })
            .catch(() => {})
        throw err
      } finally {
        // Also after a failure: the store may have applied the write before reporting the error.
        this.#cache.invalidateAccount(account.id)
        this.#cache.invalidateOrganization(org.id)
      }
      // A new password ends every session of the account, in every organization: the token
      // version already stops their access tokens; this stops their refresh tokens.
      if (accountPatch.passwordHash !== undefined) {
        await this.#store.records.sessions.delete({ accountId: account.id })
        await this.#audit.record({
          type: 'sessions.revoked',
          organizationId: org.id,
          accountId: account.id,
          details: { reason: 'password_changed' },
        })
      }
    }
    await this.#audit.record({
      type: 'organization.updated',
      organizationId: org.id,
      accountId: account.id,
      details: {
        renamed: orgPatch.name !== undefined,
        reslugged: orgPatch.slug !== undefined,
        metadataChanged: orgPatch.metadata !== undefined,
        emailChanged: accountPatch.email !== undefined,
        passwordChanged: accountPatch.passwordHash !== undefined,
      },
    })
    return toOrganization(updated)
  }

  /** Deletes the caller's organization (owner only), its memberships, invitations, domains and data. Tokens for it stop working at once. */
  async delete(tenant: Pick<MemberTenant, 'id' | 'member'>, name: string): Promise<void> {
    const parsed = parseInput(organizationInput.delete, { name })
    const named = await this.#store.records.organizations.find({ nameKey: organizationNameKey(parsed.name) })
    if (named?.state !== 'active') throw new OrganizationNotFoundError('no organization has this name')
    if (named.id !== tenant.id) throw new NotAMemberError('only a member of this organization may delete it')
    const { org, role } = await loadCaller(this.#store, tenant)
    if (role !== 'owner') throw new PermissionDeniedError('only the owner may delete the organization')

    await this.#teardown.deleteActive(org)
    // The one event that outlives the organization: the record of its deletion.
    await this.#audit.record({
      type: 'organization.deleted',
      organizationId: org.id,
      accountId: tenant.member.accountId,
      details: { name: org.name },
    })
  }

  /**
   * Adds a custom domain to the caller's organization (permission `domains:manage`). The host
   * proves the customer owns it first (a DNS TXT record); tenantry does not.
   */
  async addDomain(tenant: Pick<MemberTenant, 'id' | 'member'>, domain: string): Promise<OrganizationDomain> {
    const caller = await this.#manageDomains(tenant)
    return this.#domains.add(caller.org.id, domain, { accountId: caller.membership.accountId })
  }

  /** Removes a custom domain (permission `domains:manage`); it stops resolving at once. `DomainNotFoundError` if the organization does not hold it. */
  async removeDomain(tenant: Pick<MemberTenant, 'id' | 'member'>, domain: string): Promise<void> {
    const caller = await this.#manageDomains(tenant)
    return this.#domains.remove(caller.org.id, domain, { accountId: caller.membership.accountId })
  }

  /** The caller's organization's custom domains, ordered by name (permission `domains:manage`). */
  async listDomains(tenant: Pick<MemberTenant, 'id' | 'member'>): Promise<OrganizationDomain[]> {
    const caller = await this.#manageDomains(tenant)
    return this.#domains.list(caller.org.id)
  }

  async #manageDomains(tenant: Pick<MemberTenant, 'id' | 'member'>): Promise<Caller> {
    const caller = await loadCaller(this.#store, tenant)
    if (!this.#roles.can(caller.role, 'domains:manage'))
      throw new PermissionDeniedError('managing custom domains needs the domains:manage permission')
    return caller
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
        return await this.#store.records.organizations.insert(org)
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

  /**
   * The account with this email, if `password` is its password; `null` when there is none (or
   * only an orphan left by an interrupted create, which is removed). Anything else is
   * `EmailTakenError`: the same answer as for any taken email, so a create never tells
   * whether a password was right for someone else's account.
   */
  async #existingAccount(email: string, password: string): Promise<AccountRecord | null> {
    const holder = await this.#store.records.accounts.find({ email })
    if (!holder) return null
    const account = await this.#auth.verifyCredentials(email, password)
    if (account) return account
    if (await this.#teardown.removeIfOrphan(holder.id)) return null
    throw new EmailTakenError('an account with this email already exists')
  }

  /** Inserts a new account; if another create raced this one for the email, joins it when the password is that account's. */
  async #insertAccount(
    email: string,
    password: string,
    now: Date,
    attempted: (id: string) => void,
  ): Promise<AccountRecord> {
    const account: AccountRecord = {
      id: newId(),
      email,
      passwordHash: await this.#auth.hashPassword(password),
      tokenVersion: 0,
      createdAt: now,
      updatedAt: now,
    }
    attempted(account.id)
    try {
      await this.#store.records.accounts.insert(account)
      return account
    } catch (err) {
      if (!(err instanceof EmailTakenError)) throw err
      const existing = await this.#existingAccount(email, password)
      if (!existing) throw err
      return existing
    }
  }
}
