/**
 * Messages published in order, none dropped: a publish that fails (the connection lost) is tried
 * again with exponential backoff and jitter, and the messages behind it wait their turn, so a
 * peer never sees a later change before an earlier one.
 */
export class RedisOutbox {
  readonly #queue: string[] = []
  readonly #send: (message: string) => Promise<unknown>
  #sending = false
  #failures = 0
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(send: (message: string) => Promise<unknown>) {
    this.#send = send
  }

  /** Messages not yet published, the one being tried included. */
  get pending(): number {
    return this.#queue.length
  }

  push(message: string): void {
    if (this.#closed) return
    this.#queue.push(message)
    if (!this.#sending && this.#timer === undefined) void this.#drain()
  }

  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
  }

  async #drain(): Promise<void> {
    this.#sending = true
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        await this.#send(this.#queue[0]!)
        this.#queue.shift()
        this.#failures = 0
      }
    } catch {
      this.#failures++
      // 50 ms doubling to 2 s, with full jitter: instances cut off together do not retry in step.
      const delay = Math.random() * Math.min(2_000, 50 * 2 ** this.#failures)
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        void this.#drain()
      }, delay)
      this.#timer.unref?.()
    } finally {
      this.#sending = false
    }
  }
}
