import { QueryLimitError, QueryTimeoutError } from '../../errors.js'

/**
 * What one operation on the memory store may spend: its own clock, read on every step, and its
 * own allowance of values made (array elements, string characters, object fields), so neither a
 * slow expression nor a growing one outlives the operation that started it.
 */
export class OperationBudget {
  readonly #deadline: number
  readonly #maxTimeMS: number
  readonly #maxAllocation: number
  #left: number

  constructor(maxTimeMS: number, maxAllocation: number) {
    this.#deadline = Date.now() + maxTimeMS
    this.#maxTimeMS = maxTimeMS
    this.#maxAllocation = maxAllocation
    this.#left = maxAllocation
  }

  /** Called on every operator call and every document a stage makes. */
  step(): void {
    if (Date.now() > this.#deadline) throw this.#timeout()
  }

  /** Counts `values` made by `by` against the allowance, refusing the operation once it is spent. */
  charge(values: number, by: string): void {
    this.#left -= values
    if (this.#left < 0)
      throw new QueryLimitError(
        `${by} took the operation past the ${this.#maxAllocation} values (array elements, characters, fields) it may make`,
      )
  }

  /** Before work that runs to its end once started: refused now if it could not end in time. */
  expect(milliseconds: number): void {
    this.step()
    if (Date.now() + milliseconds > this.#deadline) throw this.#timeout()
  }

  #timeout(): QueryTimeoutError {
    return new QueryTimeoutError(`the operation ran past its ${this.#maxTimeMS} ms (maxTimeMS)`)
  }
}

const UNBOUNDED = new OperationBudget(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)
// mingo calls its operators synchronously and with no handle of ours, so the operation they serve is
// found here; `withBudget` sets it around one synchronous run and puts the previous one back.
let running = UNBOUNDED

/** The budget of the operation running now. */
export function currentBudget(): OperationBudget {
  return running
}

/** Runs `run` (synchronous) as one operation with its own budget. */
export function withBudget<R>(budget: OperationBudget, run: () => R): R {
  const previous = running
  running = budget
  try {
    return run()
  } finally {
    running = previous
  }
}
