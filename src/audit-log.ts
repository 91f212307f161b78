import { newId } from './lib/ids.js'
import type { AuditEvent, AuditEventType, AuditPage, TenantStore } from './store.js'

/** What a caller reports; the log adds the id and the time. */
export interface AuditInput {
  type: AuditEventType
  organizationId: string | null
  accountId?: string | null
  clientAddress?: string | null
  /** Plain facts only: never a password, hash or token. */
  details?: Record<string, string | number | boolean>
}

/**
 * Records security-relevant events: stored by the store (queryable per organization) and handed
 * to the host's `onAudit` hook. Best effort by design: an audit write that fails never fails the
 * login or change it describes; the hook still sees the event.
 *
 * @example
 * createTenancy({ auth, onAudit: (event) => logger.info(event, 'audit') })
 */
export class AuditLog {
  readonly #store: TenantStore
  readonly #onAudit: ((event: AuditEvent) => void) | undefined

  constructor(store: TenantStore, onAudit: ((event: AuditEvent) => void) | undefined) {
    if (onAudit !== undefined && typeof onAudit !== 'function')
      throw new TypeError('tenantry: onAudit must be a function')
    this.#store = store
    this.#onAudit = onAudit
  }

  /** The organization's stored events, newest first. */
  list(organizationId: string, options: AuditPage): Promise<AuditEvent[]> {
    return this.#store.listAuditEvents(organizationId, options)
  }

  async record(input: AuditInput): Promise<void> {
    const event: AuditEvent = {
      id: newId(),
      type: input.type,
      organizationId: input.organizationId,
      accountId: input.accountId ?? null,
      clientAddress: input.clientAddress ?? null,
      at: new Date(),
      details: input.details ?? {},
    }
    // Events without an organization (a login with an unknown email) go to the hook only.
    if (event.organizationId !== null) await this.#store.insertAuditEvent(event).catch(() => {})
    try {
      this.#onAudit?.(structuredClone(event))
    } catch {
      // A throwing hook is the host's bug; it must not undo what already happened.
    }
  }
}
