/**
 * Runs at most `concurrency` tasks at once and lets at most `maxQueued` wait; past that,
 * `run` rejects with `onFull()` at once instead of letting the backlog grow without limit.
 */
export class BoundedQueue {
  readonly #concurrency: number
  readonly #maxQueued: number
  readonly #onFull: () => Error
  readonly #waiting: (() => void)[] = []
  #running = 0

  constructor(options: { concurrency: number; maxQueued: number; onFull: () => Error }) {
    this.#concurrency = options.concurrency
    this.#maxQueued = options.maxQueued
    this.#onFull = options.onFull
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= this.#maxQueued) throw this.#onFull()
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running++
    }
    try {
      return await task()
    } finally {
      // Hand the slot straight to the next waiter, so `#running` never dips and lets a newcomer jump the queue.
      const next = this.#waiting.shift()
      if (next) next()
      else this.#running--
    }
  }
}
