/**
 * `tenantry/testing`: the suites that prove a store keeps tenantry's contract, and the leak
 * probe for a host app's own routes. They run under vitest (an optional peer dependency): call
 * them from a test file with a factory, as tenantry's own stores do.
 *
 * @example
 * import { describeStore, CONFORMANCE_COLLECTIONS } from 'tenantry/testing'
 * describeStore({ name: 'my store', create: () => myStore({ collections: CONFORMANCE_COLLECTIONS }) })
 *
 * @packageDocumentation
 * @module tenantry/testing
 */
export { describeStore, describeRecordStore, describeDataProvider } from './describe-store.js'
export { describeLifecycle } from './lifecycle.js'
export { describeAmbiguousFailures } from './ambiguous-failures.js'
export { describeConcurrentChanges } from './concurrent-changes.js'
export { describeDataIsolation } from './data-isolation.js'
export {
  describeSqlIsolation,
  probeSqlIsolation,
  type SqlIsolationOptions,
  type SqlTableUnderTest,
  type SqlLeak,
} from './sql-isolation.js'
export {
  describeRouteLeaks,
  probeRouteLeak,
  type RouteLeakOptions,
  type ProbedRoute,
  type AppUnderTest,
  type SignInContext,
} from './route-leaks.js'
export { failingStore, InjectedFailure, type FailingStore, type StoreStep, type FailureMode } from './failing-store.js'
export {
  CONFORMANCE_COLLECTIONS,
  type StoreUnderTest,
  type RecordStoreUnderTest,
  type DataProviderUnderTest,
} from './subjects.js'
