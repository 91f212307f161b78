import type { MemberTenant } from '../tenant.js'

/** A token's whole answer, trusted while no invalidation has happened since and until `validUntil`. */
export interface ResolvedToken {
  tenant: MemberTenant
  epoch: number
  validUntil: number
}

// The end of a JWT is its signature: 22 base64url characters are 132 bits of it, so two tokens
// that share them are the same token in practice. A collision only costs a verification: the
// whole token is still compared before an answer is reused.
const TAIL = 22

/**
 * The resolved-token cache: a token's answer, found by the last characters of the token and
 * then checked against the whole token. Every request brings its token as a new string, and
 * hashing all of it (500 characters and more) cost more than everything else a cached request
 * does; the tail hashes in a fraction of that, and the exact comparison costs a `memcmp`.
 *
 * Bounded: at most `max` tokens, the oldest stored dropped first. A hit reorders nothing, so
 * reading allocates nothing and writes nothing.
 *
 * @example
 * const tokens = new ResolvedTokens(10_000)
 * tokens.set(token, { tenant, epoch, validUntil })
 * tokens.get(token)?.tenant // tenant
 */
export class ResolvedTokens {
  readonly #max: number
  readonly #entries = new Map<string, ResolvedToken & { token: string }>()

  constructor(max: number) {
    this.#max = max
  }

  /** The answer stored for exactly `token`, whatever its age: the caller checks epoch and validity. */
  get(token: string): ResolvedToken | undefined {
    const entry = this.#entries.get(token.slice(-TAIL))
    return entry?.token === token ? entry : undefined
  }

  set(token: string, resolved: ResolvedToken): void {
    const tail = token.slice(-TAIL)
    // Deleted first, so a stored-again token counts as the newest.
    this.#entries.delete(tail)
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(tail, { ...resolved, token })
  }

  clear(): void {
    this.#entries.clear()
  }
}
