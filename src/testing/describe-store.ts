import { describeRecordTransactions } from './record-transactions.js'
import { describe } from 'vitest'
import { describeAmbiguousFailures } from './ambiguous-failures.js'
import { describeConcurrentChanges } from './concurrent-changes.js'
import { describeDataIsolation } from './data-isolation.js'
import { describeDataSpaces } from './data-spaces.js'
import { describeLifecycle } from './lifecycle.js'
import { describeMembershipRecords } from './membership-records.js'
import { describeOrganizationRecords } from './organization-records.js'
import { migrated, type DataProviderUnderTest, type RecordStoreUnderTest, type StoreUnderTest } from './subjects.js'

/**
 * The record store's conformance: every group's lookups, unique keys under concurrency,
 * conditional writes and orderings. Optional groups a store lacks (domains, audit) are skipped.
 *
 * @example
 * describeRecordStore({ name: 'my records', create: () => myRecordStore() })
 */
export function describeRecordStore(given: RecordStoreUnderTest): void {
  const subject = migrated(given)
  describe(`the ${subject.name} records`, () => {
    describeOrganizationRecords(subject)
    describeMembershipRecords(subject)
    describeRecordTransactions(subject)
  })
}

/**
 * The data provider's conformance: data spaces, and the differential leak probe on its tenant
 * handles. The provider declares `CONFORMANCE_COLLECTIONS`.
 *
 * @example
 * describeDataProvider({ name: 'my data', create: () => myProvider({ collections: CONFORMANCE_COLLECTIONS }) })
 */
export function describeDataProvider(subject: DataProviderUnderTest): void {
  describe(`the ${subject.name} data provider`, () => {
    describeDataSpaces(migrated(subject))
    describeDataIsolation(subject)
  })
}

/**
 * Everything a store must do: its records, its data, the organization lifecycle over both
 * with failures injected (refused and applied-then-failed) at every step, and ownership and
 * limits under concurrent changes.
 *
 * @example
 * describeStore({ name: 'MongoDB', create: () => mongoStore({ db, collections: CONFORMANCE_COLLECTIONS }) })
 */
export function describeStore(subject: StoreUnderTest): void {
  describe(`the ${subject.name} store`, () => {
    describeRecordStore({ name: subject.name, create: async () => (await subject.create()).records })
    describeDataProvider({ ...subject, create: async () => (await subject.create()).data })
    describeLifecycle(subject)
    describeAmbiguousFailures(subject)
    describeConcurrentChanges(subject)
  })
}
