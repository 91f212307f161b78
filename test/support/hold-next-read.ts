import type { Store } from 'tenantry/store'

/**
 * Holds the next call of `step` (`'organizations.find'`, `'data.provision'`) on `store` after it
 * has read, until `release()`: a lookup that raced a change, driven step by step. `reached`
 * settles once the read has happened.
 */
export function holdNextRead(
  store: Store,
  step: `${string}.${string}`,
): { reached: Promise<void>; release: () => void } {
  const [group, method] = step.split('.') as [string, string]
  const target = (
    group === 'data' ? store.data : (store.records as unknown as Record<string, object>)[group]
  ) as Record<string, unknown>
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let read!: () => void
  const reached = new Promise<void>((resolve) => (read = resolve))
  const original = target[method] as (...args: unknown[]) => Promise<unknown>
  target[method] = async (...args: unknown[]) => {
    target[method] = original
    const found = await original(...args)
    read()
    await gate
    return found
  }
  return { reached, release }
}
