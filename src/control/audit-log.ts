import { PermissionDeniedError } from '../errors.js'
import { newId } from '../lib/ids.js'
import { loadCaller } from '../members/caller.js'
import type { Roles } from '../members/roles.js'
import type { MemberTenant } from '../tenant.js'
import type { AuditEvent, AuditEventType, AuditPage } from './records.js'
import type { Store } from '../store.js'

/** What a caller reports; the log adds the id and the time. */
export interface AuditInput {
  type: AuditEventType
  organizationId: string | null
  accountId?: string | null
  clientAddress?: string | null
  /** Plain facts only: never a password, hash or token. */
  details?: Record<string, string | number | boolean>
  /** When it happened, if it is recorded later (`defer`). Default: now. */
  at?: Date
}

/** The audit trail as a member reads it: `tenancy.audit.list(tenant, { limit: 50 })`. */
export interface AuditTrail {
  /**
   * The acting member's organization's events, newest first (permission `audit:read`). Page on
   * with `after: events.at(-1)`.
   */
  list(tenant: Pick<MemberTenant, 'id' | 'member'>, page: AuditPage): Promise<AuditEvent[]>
}

/**
 * Records security-relevant events: stored by the store (queryable per organization) and handed
 * to the host's `onAudit` hook. Best effort by design: an audit write that fails never fails the
 * login or change it describes; the hook still sees the event.
 *
 * @example
 * createTenancy({ auth, onAudit: (event) => logger.info(event, 'audit') })
 */
export class AuditLog implements AuditTrail {
  readonly #store: Store
  readonly #roles: Roles
  readonly #onAudit: ((event: AuditEvent) => void) | undefined
  readonly #deferred = new Set<Promise<void>>()

  constructor(store: Store, roles: Roles, onAudit: ((event: AuditEvent) => void) | undefined) {
    if (onAudit !== undefined && typeof onAudit !== 'function')
      throw new TypeError('tenantry: onAudit must be a function')
    this.#store = store
    this.#roles = roles
    this.#onAudit = onAudit
  }

  async list(tenant: Pick<MemberTenant, 'id' | 'member'>, page: AuditPage): Promise<AuditEvent[]> {
    const caller = await loadCaller(this.#store, tenant)
    if (!this.#roles.can(caller.role, 'audit:read'))
      throw new PermissionDeniedError('reading the audit trail needs the audit:read permission')
    return this.listFor(caller.org.id, page)
  }

  /** Trusted: any organization's events, for the back office. */
  async listFor(organizationId: string, page: AuditPage): Promise<AuditEvent[]> {
    const audit = this.#store.records.audit
    if (!audit) throw new TypeError('tenantry: this store keeps no audit events (its records have no audit group)')
    // A reader in this process sees every event that happened before it asked.
    await Promise.all(this.#deferred)
    return audit.list(organizationId, page)
  }

  /** Records off the caller's path (a failed login answers before its events are written). */
  defer(write: () => Promise<void>): void {
    const pending = write()
      .catch(() => {})
      .finally(() => this.#deferred.delete(pending))
    this.#deferred.add(pending)
  }

  async record(input: AuditInput): Promise<void> {
    const event: AuditEvent = {
      id: newId(),
      type: input.type,
      organizationId: input.organizationId,
      accountId: input.accountId ?? null,
      clientAddress: input.clientAddress ?? null,
      at: input.at ?? new Date(),
      details: input.details ?? {},
    }
    // Events without an organization (a login with an unknown email) go to the hook only.
    if (event.organizationId !== null) await this.#store.records.audit?.insert(event).catch(() => {})
    try {
      this.#onAudit?.(structuredClone(event))
    } catch {
      // A throwing hook is the host's bug; it must not undo what already happened.
    }
  }
}
