import type { TenantStore } from 'tenantry'

// The synchronous handle and the listings are not single steps that can fail halfway.
export type StoreStep = Exclude<
  keyof TenantStore,
  'collection' | 'collectionNames' | 'listOrganizations' | 'walkMemberships' | 'assertCapacity'
>

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
    this.refused = mode === 'refused'
  }
}

/**
 * Wraps a real store so that chosen steps fail, as a database that goes away mid-operation
 * would. It forwards everything else to the real store untouched.
 */
export function failingStore(store: TenantStore) {
  const failures = new Map<StoreStep, { remaining: number; mode: FailureMode }>()
  const wrapped = { ...store } as TenantStore
  for (const key of Object.keys(store)) {
    const step = key as StoreStep
    if (typeof store[step] !== 'function' || ['collection', 'listOrganizations', 'walkMemberships'].includes(key))
      continue
    const original = (store[step] as (...args: unknown[]) => Promise<unknown>).bind(store)
    ;(wrapped as unknown as Record<string, unknown>)[step] = async (...args: unknown[]) => {
      const failure = failures.get(step)
      if (!failure || failure.remaining === 0) return original(...args)
      failure.remaining--
      if (failure.mode === 'applied') await original(...args)
      throw new InjectedFailure(step, failure.mode)
    }
  }
  return {
    store: wrapped,
    /** The next `times` calls of `step` fail in the given way (default: refused, once). */
    failNext(step: StoreStep, options: { times?: number; mode?: FailureMode } = {}) {
      failures.set(step, { remaining: options.times ?? 1, mode: options.mode ?? 'refused' })
    },
    reset() {
      failures.clear()
    },
  }
}
