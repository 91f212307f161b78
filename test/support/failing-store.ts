import type { TenantStore } from 'tenantry'

// The synchronous handle and the listing are not single steps that can fail halfway.
export type StoreStep = Exclude<keyof TenantStore, 'collection' | 'collectionNames' | 'listOrganizations' | 'assertCapacity'>

/** The error a planned failure throws, so a test can tell it from a real one. */
export class InjectedFailure extends Error {
  constructor(readonly step: StoreStep) {
    super(`injected failure in ${step}`)
  }
}

/**
 * Wraps a real store so that chosen steps fail, as a database that goes away mid-operation
 * would. It forwards everything else to the real store untouched.
 */
export function failingStore(store: TenantStore) {
  const failures = new Map<StoreStep, number>()
  const wrapped = { ...store } as TenantStore
  for (const key of Object.keys(store)) {
    const step = key as StoreStep
    if (typeof store[step] !== 'function' || key === 'collection' || key === 'listOrganizations') continue
    const original = (store[step] as (...args: unknown[]) => Promise<unknown>).bind(store)
    ;(wrapped as unknown as Record<string, unknown>)[step] = async (...args: unknown[]) => {
      const remaining = failures.get(step) ?? 0
      if (remaining > 0) {
        failures.set(step, remaining - 1)
        throw new InjectedFailure(step)
      }
      return original(...args)
    }
  }
  return {
    store: wrapped,
    /** The next `times` calls of `step` fail. */
    failNext(step: StoreStep, times = 1) {
      failures.set(step, times)
    },
    reset() {
      failures.clear()
    },
  }
}
