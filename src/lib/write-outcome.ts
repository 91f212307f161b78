import { TenantryError } from '../errors.js'

/**
 * Whether a failed store write certainly did not apply: a `TenantryError` (a taken name, a
 * missing record) or an error the store marked `refused: true`. Anything else (a timeout, a
 * dropped connection, a write-concern error after the primary applied it) may have applied, and
 * undoing it as if it had not could revive an organization whose data is gone.
 */
export function writeRefused(err: unknown): boolean {
  return (
    err instanceof TenantryError ||
    (typeof err === 'object' && err !== null && (err as { refused?: unknown }).refused === true)
  )
}
