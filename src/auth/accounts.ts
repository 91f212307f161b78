import { z } from 'zod'
import type { TenantCache } from '../context/tenant-cache.js'
import type { AccountRecord } from '../control/records.js'
import { EmailTakenError, SubjectTakenError } from '../errors.js'
import * as fields from '../lib/fields.js'
import { newId } from '../lib/ids.js'
import { parseInput } from '../lib/parse-input.js'
import type { Store } from '../store.js'

/** An account as callers see it: never a hash. */
export interface Account {
  id: string
  /** The host app's own user id, for an account linked with `accounts.link`. */
  subject: string | null
  email: string | null
  createdAt: Date
}

const linkSchema = z.object({
  subject: z.string().trim().min(1).max(256),
  email: fields.email.optional(),
})

/**
 * The accounts of the host app's own users. The host signs its users in (a session, Passport,
 * Auth.js, its API keys); tenantry knows each by the `subject` the host gives it, and keeps its
 * memberships, roles and audit trail as for any account.
 *
 * @example
 * const account = await tenancy.accounts.link({ subject: req.session.userId, email: req.session.email })
 */
export class Accounts {
  readonly #store: Store
  readonly #cache: TenantCache

  constructor(store: Store, options: { cache: TenantCache }) {
    this.#store = store
    this.#cache = options.cache
  }

  /**
   * The account for the host's user `subject`, made on first call: idempotent, one account per
   * subject even under concurrent calls. `email`, when given, is recorded (and kept up to date);
   * an email another account has is `EmailTakenError`, never a merge: the host's word that a
   * user owns an email is not tenantry's proof that they own that account.
   */
  async link(input: { subject: string; email?: string }): Promise<Account> {
    return toAccount(await this.linkRecord(input))
  }

  /** `link`, answering the record: for the services that go on to make a membership for it. */
  async linkRecord(input: { subject: string; email?: string }): Promise<AccountRecord> {
    const { subject, email } = parseInput(linkSchema, input)
    const found = await this.#store.records.accounts.find({ subject })
    if (found) return this.#refreshEmail(found, email)
    const now = new Date()
    const account: AccountRecord = {
      id: newId(),
      subject,
      email: email ?? null,
      passwordHash: null,
      tokenVersion: 0,
      createdAt: now,
      updatedAt: now,
    }
    try {
      await this.#store.records.accounts.insert(account)
    } catch (err) {
      // Another call linked the same subject first (its email may be what collided): that one is the account.
      const conflict = err instanceof SubjectTakenError || err instanceof EmailTakenError
      const raced = conflict ? await this.#store.records.accounts.find({ subject }) : null
      if (!raced) throw err
      return this.#refreshEmail(raced, email)
    }
    // As stored: the store stamps createdAt with its own clock, and `find` answers with that.
    return (await this.#store.records.accounts.find({ id: account.id })) ?? account
  }

  /** The account linked to `subject`, or `null`. */
  async find(subject: string): Promise<Account | null> {
    if (typeof subject !== 'string' || subject === '') return null
    const found = await this.#store.records.accounts.find({ subject })
    return found ? toAccount(found) : null
  }

  async #refreshEmail(account: AccountRecord, email: string | undefined): Promise<AccountRecord> {
    if (email === undefined || email === account.email) return account
    const updated = await this.#store.records.accounts
      .update(account.id, { email, updatedAt: new Date() })
      .finally(() => this.#cache.invalidateAccount(account.id))
    return updated ?? account
  }
}

function toAccount(record: AccountRecord): Account {
  return { id: record.id, subject: record.subject ?? null, email: record.email, createdAt: record.createdAt }
}
