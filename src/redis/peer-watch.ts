/**
 * Which other instances have gone quiet. Every instance says it is alive every `heartbeatMs`; one
 * unheard for `silenceMs` may be writing changes it cannot publish, so while any is quiet the
 * cache must trust nothing. One unheard for `forgetMs` is taken for stopped (a crash sends no
 * goodbye), after which the cache TTL alone bounds what it might still miss.
 */
export class PeerWatch {
  readonly #lastHeard = new Map<string, number>()
  readonly #silenceMs: number
  readonly #forgetMs: number

  constructor(silenceMs: number, forgetMs: number) {
    this.#silenceMs = silenceMs
    this.#forgetMs = forgetMs
  }

  heard(origin: string, now = Date.now()): void {
    this.#lastHeard.set(origin, now)
  }

  left(origin: string): void {
    this.#lastHeard.delete(origin)
  }

  /** Whether some instance has been quiet too long to trust a cache; forgets the long gone. */
  anyQuiet(now = Date.now()): boolean {
    let quiet = false
    for (const [origin, at] of this.#lastHeard) {
      if (now - at >= this.#forgetMs) this.#lastHeard.delete(origin)
      else if (now - at >= this.#silenceMs) quiet = true
    }
    return quiet
  }
}
