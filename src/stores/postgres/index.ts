/**
 * The PostgreSQL store, over the host's own `pg.Pool`: organizations, accounts, memberships,
 * invitations, sessions, domains and audit events in a schema of their own (default `tenantry`).
 *
 * @packageDocumentation
 * @module tenantry/postgres
 */
export {
  postgresRecords,
  postgresStore,
  type PostgresRecordsOptions,
  type PostgresStoreOptions,
} from './postgres-store.js'
export type { SharedTables } from './postgres-shared-tables.js'
export type { PostgresMigration } from './postgres-ledger.js'
export { postgresSetupSql } from './postgres-setup-sql.js'
