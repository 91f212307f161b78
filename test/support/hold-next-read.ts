/**
 * Holds the next call of `method` on `store` after it has read, until `release()`: a lookup
 * that raced a change, driven step by step. `reached` settles once the read has happened.
 */
export function holdNextRead<T extends object>(
  store: T,
  method: keyof T & string,
): { reached: Promise<void>; release: () => void } {
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  let read!: () => void
  const reached = new Promise<void>((resolve) => (read = resolve))
  const original = (store as Record<string, (...args: unknown[]) => Promise<unknown>>)[method]!
  ;(store as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    ;(store as Record<string, unknown>)[method] = original
    const found = await original(...args)
    read()
    await gate
    return found
  }
  return { reached, release }
}
