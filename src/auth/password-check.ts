import { randomBytes } from 'node:crypto'
import bcrypt from 'bcrypt'
import type { AccountRecord } from '../control/records.js'
import type { BoundedQueue } from '../lib/bounded-queue.js'
import type { Store } from '../store.js'
import * as fields from '../lib/fields.js'

/**
 * Whether a password is an account's, in the same time whether the email is known, unknown or
 * dormant under an older bcrypt cost. Upgrades a hash made at a lower cost on a match.
 */
export class PasswordCheck {
  readonly #store: Store
  readonly #hashing: BoundedQueue
  readonly #bcryptCost: number
  readonly #dummyHashes = new Map<number, Promise<string>>()

  constructor(store: Store, hashing: BoundedQueue, bcryptCost: number) {
    this.#store = store
    this.#hashing = hashing
    this.#bcryptCost = bcryptCost
  }

  /** The account with this email, if any, and whether `password` is its password. */
  async check(email: string, password: string): Promise<{ account: AccountRecord | null; matched: boolean }> {
    const account = await this.#store.records.accounts.find({ email: email.trim().toLowerCase() })
    const hash = account?.passwordHash ?? (await this.#dummyHash(this.#bcryptCost))
    const passwordMatches = await this.#hashing.run(() => bcrypt.compare(password, hash))
    await this.#padToCost(password, bcrypt.getRounds(hash))
    // bcrypt compares only the first 72 bytes and stops at a NUL, so "stored password + anything"
    // would match; no stored password can be like that, so such input is simply wrong. The
    // comparison above still ran, so this answer takes as long as any other.
    if (!account || !passwordMatches || !fields.password.safeParse(password).success) return { account, matched: false }
    await this.#upgradeHash(account, password)
    return { account, matched: true }
  }

  /**
   * A hash made before the cost was raised compares faster than the dummy an unknown email is
   * compared with; compares against dummies at costs `rounds` to `cost - 1` make up the
   * difference exactly (2^r + 2^r + ... + 2^(c-1) = 2^c), so a dormant account fails as slowly.
   */
  async #padToCost(password: string, rounds: number): Promise<void> {
    for (let cost = rounds; cost < this.#bcryptCost; cost++) {
      const dummy = await this.#dummyHash(cost)
      await this.#hashing.run(() => bcrypt.compare(password, dummy))
    }
  }

  /**
   * Rehashes at the configured cost when the stored hash is cheaper (the cost went up since it
   * was made): the only moment the plain password is at hand. Best effort: a busy hashing queue
   * or a store error leaves the old hash, which still works, and never fails the login.
   */
  async #upgradeHash(account: AccountRecord, password: string): Promise<void> {
    if (account.passwordHash === null || bcrypt.getRounds(account.passwordHash) >= this.#bcryptCost) return
    try {
      const passwordHash = await this.#hashing.run(() => bcrypt.hash(password, this.#bcryptCost))
      // Only over the hash that was checked: a password change that landed meanwhile must not be
      // undone by writing the old password's hash back.
      await this.#store.records.accounts.update(account.id, { passwordHash }, { passwordHash: account.passwordHash })
    } catch {
      // Keep the old hash; the next login tries again.
    }
  }

  #dummyHash(cost: number): Promise<string> {
    let hash = this.#dummyHashes.get(cost)
    if (!hash) {
      hash = bcrypt.hash(randomBytes(16).toString('hex'), cost)
      this.#dummyHashes.set(cost, hash)
      // A failed attempt must not poison every later unknown-email login. (Nothing here can make
      // bcrypt fail to hash a random string at a cost checked at start-up: no test can reach this.)
      // Stryker disable next-line ArrowFunction: guards a bcrypt failure no test can cause
      hash.catch(() => this.#dummyHashes.delete(cost))
    }
    return hash
  }
}
