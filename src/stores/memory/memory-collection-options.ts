import type { IndexSpec } from '../../data/collection-types.js'
import { boundedContext } from './query-engine.js'

// `$where` and `$function` run code; no filter a tenant's request builds should ever do that.
export const queryOptions = { scriptEnabled: false, context: boundedContext } as const
// What an operation may run for when it names no maxTimeMS: one tenant's query never holds the
// event loop longer than this.
export const DEFAULT_MAX_TIME_MS = 5000

/** What a `MemoryCollection` is made with; `TCollection` is the collection type itself. */
export interface MemoryCollectionOptions<TCollection = unknown> {
  indexes?: readonly IndexSpec[]
  /** The time limit of an operation that gives none. Default 5,000 ms. */
  maxTimeMS?: number
  /** The values (array elements, characters, fields) one operation may make. Default 4,000,000. */
  maxAllocation?: number
  /** The documents of another collection a `$lookup`, `$graphLookup` or `$unionWith` names; `undefined` if it has none. */
  resolveCollection?: (name: string) => TCollection | undefined
}
