import type { Pool } from 'pg'
import type { RecordStore } from '../../control/record-store.js'
import { postgresRecords as records } from './postgres-records.js'

export interface PostgresRecordsOptions {
  /** The host's pool. Its role needs to create the schema, or own it once a DBA created it. */
  pool: Pool
  /** The schema tenantry's tables live in. Default `tenantry`. */
  schema?: string
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * tenantry's records on PostgreSQL. The schema is created and migrated on first use (under an
 * advisory lock, so instances starting together migrate once); unique constraints and
 * conditional `UPDATE`s keep the record store's contract under concurrency.
 *
 * @example
 * const store = { records: postgresRecords({ pool: new pg.Pool() }), data: memoryStore().data }
 */
export function postgresRecords(options: PostgresRecordsOptions): Required<RecordStore> {
  if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function')
    throw new TypeError('tenantry: postgresRecords needs { pool }, a Pool from the pg package')
  const { pool, schema = 'tenantry' } = options
  if (typeof schema !== 'string' || !SCHEMA.test(schema))
    throw new TypeError(
      'tenantry: schema must be a lower-case PostgreSQL name: a letter or _, then up to 62 of [a-z0-9_]',
    )
  return records(pool, schema)
}
