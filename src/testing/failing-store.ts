import type { RecordStore } from '../control/record-store.js'
import type { TenantDataProvider } from '../data/tenant-data-provider.js'
import type { Store } from '../store.js'

type Group = keyof RecordStore
type StepOf<TGroup extends Group> = keyof NonNullable<RecordStore[TGroup]> & string

/**
 * One store step a failure can be planned for: `'organizations.insert'`, `'data.provision'`, ...
 * and, on a store with transactions, `'transaction'`: its commit. The listings and the
 * synchronous collection handle are not single steps that fail halfway.
 */
export type StoreStep =
  | 'transaction'
  | Exclude<
      { [TGroup in Exclude<Group, 'transaction'>]: `${TGroup}.${StepOf<TGroup>}` }[Exclude<Group, 'transaction'>],
      'organizations.list' | 'memberships.walk'
    >
  | `data.${Exclude<keyof TenantDataProvider, 'collection' | 'collectionNames' | 'assertCapacity'>}`

/**
 * How a planned failure behaves:
 * - `'refused'`: the write did not happen, and the error says so (`refused: true`), as a
 *   database that answers "no" would.
 * - `'applied'`: the write happened, then the call failed anyway, as a timeout, a dropped
 *   connection or a write-concern error after the primary applied it would.
 */
export type FailureMode = 'refused' | 'applied'

/** The error a planned failure throws, so a test can tell it from a real one. */
export class InjectedFailure extends Error {
  readonly refused: boolean
  constructor(
    readonly step: StoreStep,
    readonly mode: FailureMode,
  ) {
    super(`injected failure in ${step} (${mode})`)
    this.name = 'InjectedFailure'
    this.refused = mode === 'refused'
  }
}

export interface FailingStore {
  /** The wrapped store: hand it to `createTenancy`. */
  store: Store
  /** The next `times` calls of `step` fail in the given way (default: refused, once). */
  failNext(step: StoreStep, options?: { times?: number; mode?: FailureMode }): void
  reset(): void
}

const NOT_STEPS = new Set(['organizations.list', 'memberships.walk', 'data.collection', 'data.assertCapacity'])

/**
 * Wraps a real store so that chosen steps fail, as a database that goes away mid-operation
 * would; everything else reaches the real store untouched. How the conformance suites check
 * that no failure leaves an organization half-made, and how a host can test its own hooks.
 *
 * @example
 * const failing = failingStore(memoryStore())
 * failing.failNext('data.provision')
 * await expect(createTenancy({ store: failing.store, auth }).orgs.create(input)).rejects.toThrow()
 */
export function failingStore(store: Store): FailingStore {
  const failures = new Map<StoreStep, { remaining: number; mode: FailureMode }>()
  const planned = (step: StoreStep) => {
    const failure = failures.get(step)
    if (!failure || failure.remaining === 0) return undefined
    failure.remaining--
    return failure.mode
  }
  const wrap = <TTarget extends object>(target: TTarget, prefix: string): TTarget => {
    const wrapped: Record<string, unknown> = {}
    for (const key of Object.keys(target)) {
      const value = (target as Record<string, unknown>)[key]
      if (typeof value !== 'function' || NOT_STEPS.has(`${prefix}.${key}`)) {
        wrapped[key] = typeof value === 'function' ? value.bind(target) : value
        continue
      }
      const step = `${prefix}.${key}` as StoreStep
      const original = (value as (...args: unknown[]) => Promise<unknown>).bind(target)
      wrapped[key] = async (...args: unknown[]) => {
        const mode = planned(step)
        if (!mode) return original(...args)
        if (mode === 'applied') await original(...args)
        throw new InjectedFailure(step, mode)
      }
    }
    return wrapped as TTarget
  }
  const records: Record<string, unknown> = {}
  for (const [group, methods] of Object.entries(store.records))
    if (typeof methods === 'object') records[group] = wrap(methods, group)
  if (store.records.migrate) records.migrate = store.records.migrate.bind(store.records)
  const transaction = store.records.transaction?.bind(store.records)
  if (transaction)
    // Refused: everything in it ran, and then the commit never happened. Applied: it committed, and the answer was lost.
    records.transaction = async <TResult>(fn: () => Promise<TResult>) => {
      const mode = planned('transaction')
      if (!mode) return transaction(fn)
      if (mode === 'applied') await transaction(fn)
      else
        await transaction(async () => {
          await fn()
          throw new InjectedFailure('transaction', 'refused')
        })
      throw new InjectedFailure('transaction', mode)
    }
  return {
    store: { records: records as unknown as RecordStore, data: wrap(store.data, 'data') },
    failNext(step, options = {}) {
      failures.set(step, { remaining: options.times ?? 1, mode: options.mode ?? 'refused' })
    },
    reset() {
      failures.clear()
    },
  }
}
