import type { Store } from '../store.js'
import type { OrganizationRecord } from '../control/records.js'

export interface WalkOptions {
  /** Resume after this organization id: the `lastId` an interrupted run reported. */
  after?: string
  /** How many organizations are visited at once. Default 1. */
  concurrency?: number
  /** Called whenever `lastId` moves on. */
  onProgress?: (report: WalkReport) => void
}

export interface WalkReport {
  /** Organizations visited, skipped ones not counted. */
  visited: number
  /** Organizations that were not active, or stopped being active before their turn. */
  skipped: number
  /**
   * Every organization up to and including this id is done: pass it as `after` to resume. With
   * `concurrency` above 1 it trails the newest visit until every earlier one has finished, so a
   * resumed run never skips one that was still in flight.
   */
  lastId: string | undefined
}

/**
 * Visits every organization in id order, at most `concurrency` at a time, resumably. `visit`
 * answers `false` to count an organization as skipped. The first visit that throws stops the
 * walk: no new visit starts, the ones in flight finish, and the error is thrown; `lastId` then
 * marks where a re-run should resume.
 */
export async function walkOrganizations(
  store: Store,
  visit: (org: OrganizationRecord) => Promise<boolean>,
  options: WalkOptions = {},
): Promise<WalkReport> {
  const { after, concurrency = 1, onProgress } = options
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError('tenantry: concurrency must be a whole number, 1 or more')
  if (after !== undefined && typeof after !== 'string')
    throw new TypeError('tenantry: after must be an organization id')
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw new TypeError('tenantry: onProgress must be a function')
  const report: WalkReport = { visited: 0, skipped: 0, lastId: after }
  // Visits in flight or finished but not yet contiguous from the front, in id order.
  const pending: { id: string; done: boolean }[] = []
  const running = new Set<Promise<void>>()
  let failure: { error: unknown } | undefined

  const advance = () => {
    let moved = false
    while (pending[0]?.done) {
      report.lastId = pending.shift()!.id
      moved = true
    }
    if (moved) onProgress?.({ ...report })
  }

  for await (const org of store.records.organizations.list({ afterId: after })) {
    if (failure) break
    const entry = { id: org.id, done: false }
    pending.push(entry)
    // Never rejects: a failing visit (or a throwing onProgress) is recorded and stops the walk.
    const task: Promise<void> = visit(org)
      .then((visited) => {
        if (visited) report.visited++
        else report.skipped++
        entry.done = true
        advance()
      })
      .catch((error: unknown) => {
        failure ??= { error }
      })
    const tracked = task.finally(() => running.delete(tracked))
    running.add(tracked)
    if (running.size >= concurrency) await Promise.race(running)
  }
  await Promise.all(running)
  if (failure) throw failure.error
  return report
}
