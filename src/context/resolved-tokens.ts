import type { MemberTenant } from '../tenant.js'

/** A token's whole answer, trusted while no invalidation has happened since and until `validUntil`. */
export interface ResolvedToken {
  tenant: MemberTenant
  epoch: number
  validUntil: number
}

// The end of a JWT is its signature: its last 8 characters (48 bits of it), folded into a 32-bit
// integer, tell tokens apart like any hash would, without reading the 500 characters before
// them, and an integer key allocates nothing. Two tokens that share a key share a slot, so one
// pushes the other out: a collision costs a verification, never a wrong answer, because the
// whole token is compared before an answer is reused.
const TAIL = 8

function tailKey(token: string): number {
  let key = 0
  for (let i = Math.max(0, token.length - TAIL); i < token.length; i++) key = (key * 31 + token.charCodeAt(i)) | 0
  return key
}

/**
 * The resolved-token cache: a token's answer, found by the last characters of the token and
 * then checked against the whole token. Every request brings its token as a new string, and
 * hashing all of it (500 characters and more) for a map lookup cost more than everything else
 * a cached request does; the tail is read in a few nanoseconds, and the exact comparison costs
 * a `memcmp`.
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
  readonly #entries = new Map<number, ResolvedToken & { token: string }>()

  constructor(max: number) {
    this.#max = max
  }

  /** The answer stored for exactly `token`, whatever its age: the caller checks epoch and validity. */
  get(token: string): ResolvedToken | undefined {
    const entry = this.#entries.get(tailKey(token))
    return entry?.token === token ? entry : undefined
  }

  set(token: string, resolved: ResolvedToken): void {
    const key = tailKey(token)
    // Deleted first, so a stored-again token counts as the newest.
    this.#entries.delete(key)
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!)
    this.#entries.set(key, { ...resolved, token })
  }

  clear(): void {
    this.#entries.clear()
  }
}
