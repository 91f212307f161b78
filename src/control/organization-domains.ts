import { DomainNotFoundError, DomainTakenError, OrganizationNotFoundError, ValidationError } from '../errors.js'
import type { AuditLog } from './audit-log.js'
import type { TenantCache } from '../context/tenant-cache.js'
import type { Store } from '../store.js'
import type { DomainRecords } from './record-store.js'
import type { DomainRecord } from './records.js'
import { isAtOrUnder, normalizeDomain } from './domain-name.js'

/** A custom domain as callers see it. */
export interface OrganizationDomain {
  domain: string
  createdAt: Date
}

/** Most custom domains one organization may hold: a bound on what one admin can claim. */
export const MAX_DOMAINS_PER_ORGANIZATION = 50

/**
 * Custom domains (`app.acme.com`) an organization is reached by through `tenantScope({ from:
 * 'host' })`. A domain is unique across organizations and never under a base domain, where
 * names belong to slugs. tenantry does not check ownership: the host proves it (a DNS TXT
 * record) before calling `add`. These are trusted steps: `OrganizationService` authorizes the
 * acting member first, `tenancy.admin` is the host's own back office.
 */
export class OrganizationDomains {
  readonly #store: Store
  readonly #cache: TenantCache
  readonly #audit: AuditLog
  readonly #baseDomains: readonly string[]
  readonly #inFlightTimeoutMs: number

  constructor(
    store: Store,
    options: { cache: TenantCache; audit: AuditLog; baseDomains: readonly string[]; inFlightTimeoutMs: number },
  ) {
    this.#store = store
    this.#cache = options.cache
    this.#audit = options.audit
    this.#baseDomains = options.baseDomains
    this.#inFlightTimeoutMs = options.inFlightTimeoutMs
  }

  async add(organizationId: string, domain: string, context: { accountId?: string } = {}): Promise<OrganizationDomain> {
    const normalized = normalizeDomain(domain)
    if (normalized === null) throw invalid('must be a hostname such as app.acme.com')
    const base = this.#baseDomains.find((baseDomain) => isAtOrUnder(normalized, baseDomain))
    if (base !== undefined) throw invalid(`must not be ${base} or under it: names there are organizations' slugs`)
    await this.#requireActive(organizationId)
    if ((await this.#domains.list(organizationId)).length >= MAX_DOMAINS_PER_ORGANIZATION) {
      throw invalid(`an organization has at most ${MAX_DOMAINS_PER_ORGANIZATION} domains`)
    }
    const record: DomainRecord = { domain: normalized, organizationId, createdAt: new Date() }
    try {
      await this.#domains.insert(record)
    } catch (err) {
      if (!(err instanceof DomainTakenError) || !(await this.#freeIfAbandoned(normalized))) throw err
      await this.#domains.insert(record)
    }
    // The domain may be remembered as missing, here and on other instances.
    this.#cache.invalidateOrganization(organizationId)
    await this.#audit.record({
      type: 'domain.added',
      organizationId,
      accountId: context.accountId,
      details: { domain: normalized },
    })
    return { domain: normalized, createdAt: record.createdAt }
  }

  /** Throws `DomainNotFoundError` unless the organization holds the domain. It stops resolving at once. */
  async remove(organizationId: string, domain: string, context: { accountId?: string } = {}): Promise<void> {
    const normalized = normalizeDomain(domain)
    if (normalized === null || !(await this.#domains.delete(normalized, organizationId)))
      throw new DomainNotFoundError('this organization has no such domain')
    this.#cache.invalidateOrganization(organizationId)
    await this.#audit.record({
      type: 'domain.removed',
      organizationId,
      accountId: context.accountId,
      details: { domain: normalized },
    })
  }

  async list(organizationId: string): Promise<OrganizationDomain[]> {
    await this.#requireActive(organizationId)
    return (await this.#domains.list(organizationId)).map(({ domain, createdAt }) => ({
      domain,
      createdAt,
    }))
  }

  /** A store may keep no domains: then every domain operation is the host's misuse. */
  get #domains(): DomainRecords {
    const domains = this.#store.records.domains
    if (!domains)
      throw new TypeError('tenantry: this store keeps no custom domains (its records have no domains group)')
    return domains
  }

  async #requireActive(organizationId: string): Promise<void> {
    if (typeof organizationId !== 'string') throw new TypeError('tenantry: organizationId must be a string')
    const org = await this.#store.records.organizations.find({ id: organizationId })
    if (org?.state !== 'active') throw new OrganizationNotFoundError('no organization has this id')
  }

  /**
   * A domain whose holder is gone, or stuck in flight past the timeout (an add that raced the
   * organization's delete), is released; a live holder keeps it.
   */
  async #freeIfAbandoned(domain: string): Promise<boolean> {
    const holder = await this.#domains.find(domain)
    if (!holder) return true
    const org = await this.#store.records.organizations.find({ id: holder.organizationId })
    if (org) {
      // Claimed for teardown on the store's clock, so a holder whose delete is still running elsewhere keeps it.
      const claimed =
        org.state !== 'active' &&
        (await this.#store.records.organizations.transition(org.id, {
          from: ['provisioning', 'deleting'],
          to: 'deleting',
          staleForMs: this.#inFlightTimeoutMs,
        }))
      if (!claimed) return false
    }
    await this.#domains.delete(domain, holder.organizationId)
    return true
  }
}

function invalid(detail: string): ValidationError {
  return new ValidationError([{ pointer: '#/domain', detail }])
}
