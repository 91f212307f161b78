import { memoryStore } from 'tenantry'
import { postgresRecords } from 'tenantry/postgres'
import {
  CONFORMANCE_COLLECTIONS as collections,
  describeAmbiguousFailures,
  describeConcurrentChanges,
  describeLifecycle,
  describeRecordStore,
} from 'tenantry/testing'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()
const records = () => postgresRecords({ pool: database.pool, schema: database.fresh() })

describeRecordStore({ name: 'PostgreSQL', create: records })

// Records on PostgreSQL with tenant data in memory: the lifecycle, failures and races over
// the records (the PostgreSQL data plane is issue 22's next part).
const mixed = {
  name: 'PostgreSQL records, memory data',
  create: () => ({ records: records(), data: memoryStore({ collections }).data }),
}
describeLifecycle(mixed)
describeAmbiguousFailures(mixed)
describeConcurrentChanges(mixed)
