export {
  createTenancy,
  type Tenancy,
  type TenancyOptions,
  type ForEachTenantOptions,
  type ForEachTenantReport,
} from './tenancy.js'
export type { OrganizationService } from './orgs/organization-service.js'
export type {
  Organization,
  Member,
  CreateOrganizationInput,
  UpdateOrganizationInput,
  LifecycleHooks,
  MigrateOptions,
  MigrationReport,
} from './orgs/org-types.js'
export { MAX_DOMAINS_PER_ORGANIZATION, type OrganizationDomain } from './orgs/org-domains.js'
export { DEFAULT_RESERVED_SLUGS } from './orgs/slug.js'
export type { Tenant, MemberTenant, TenantMember, TenantRef, RegisteredTenant } from './tenant.js'
export { currentTenant, requireTenant } from './context/tenant-context.js'
export type { Auth, AuthOptions } from './auth/auth.js'
export type { IssuedTokens, AccessTokenClaims } from './auth/tokens.js'
export type { SigningKey, Jwk } from './lib/keyring.js'
export type { LoginLimits } from './lib/login-throttle.js'
export type { TenantRegistry } from './context/tenant-registry.js'
export type { TenantCacheOptions } from './context/tenant-cache.js'
export type { CacheInvalidation, InvalidationListener, InvalidationMessage } from './context/cache-invalidation.js'
export type { AuditLog, AuditInput } from './audit-log.js'
export type { Register, RegisteredCollections } from './register.js'
export type {
  TenantStore,
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
} from './store.js'
export { memoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js'
export type { MemoryCollection, MemoryCursor, MemoryDocument } from './stores/memory/memory-collection.js'
export type {
  TenantCollection,
  TenantCursor,
  Collation,
  ReadOptions,
  CountOptions,
  WriteOptions,
  TenantFindCursor,
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
} from './data/collection-types.js'
export { TenantryError, type FieldIssue } from './errors.js'
/** Every error class, by name: `err instanceof errors.TenantIsolationError`, or `switch (err.code)`. */
export * as errors from './errors.js'
export type { ErrorCode } from './error-code.js'
export type { MemberService } from './members/member-service.js'
export type { Invitations, Invitation, InvitationOptions } from './members/invitations.js'
export {
  ORGANIZATION_PERMISSIONS,
  BUILT_IN_ROLES,
  type OrganizationPermission,
  type RoleDefinitions,
} from './members/roles.js'
