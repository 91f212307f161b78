/**
 * `tenantry/store`: the storage contract, for writing a store. A store is a `RecordStore` (the
 * control plane: organizations, accounts, memberships, ...) and a `TenantDataProvider` (the data
 * plane: each tenant's collections); `tenantry/testing`'s `describeStore` proves one correct.
 *
 * @packageDocumentation
 * @module tenantry/store
 */
export type { Store } from '../store.js'
export type {
  RecordStore,
  OrganizationRecords,
  AccountRecords,
  MembershipRecords,
  InvitationRecords,
  SessionRecords,
  DomainRecords,
  AuditRecords,
} from '../control/record-store.js'
export type {
  OrganizationRecord,
  OrganizationState,
  OrganizationQuery,
  OrganizationPatch,
  OrganizationTransition,
  AccountRecord,
  AccountQuery,
  AccountPatch,
  MembershipRecord,
  MembershipQuery,
  MembershipPatch,
  InvitationRecord,
  InvitationQuery,
  DomainRecord,
  SessionRecord,
  SessionQuery,
  RefreshTokenRecord,
  AuditEvent,
  AuditEventType,
  AuditPage,
} from '../control/records.js'
export type { TenantDataProvider } from '../data/tenant-data-provider.js'
export type { SqlClient, SqlResult } from '../data/sql-client.js'
export type { SqlQueryOptions, SqlTransactionOptions } from '../data/sql-options.js'
export type {
  TenantCollection,
  TenantCursor,
  TenantFindCursor,
  Collation,
  ReadOptions,
  CountOptions,
  WriteOptions,
  Document,
  Filter,
  UpdateFilter,
  FindOptions,
  FindOneAndOptions,
  UpdateOptions,
  InsertOneResult,
  IdOf,
  InsertManyResult,
  UpdateResult,
  DeleteResult,
  BulkWriteResult,
  AnyBulkWriteOperation,
  IndexSpec,
  CollectionDeclaration,
  CollectionDeclarations,
} from '../data/collection-types.js'
