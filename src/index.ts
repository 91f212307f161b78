/**
 * `tenantry`: the core. Organizations, members and tenant context over a store, with no HTTP
 * in it; the adapters (`tenantry/express`, `tenantry/koa`) and the HTTP kit (`tenantry/http`)
 * build on it. The storage contract is `tenantry/store`, its conformance suites `tenantry/testing`.
 *
 * @packageDocumentation
 * @module tenantry
 */
export {
  createTenancy,
  type Tenancy,
  type TenancyOptions,
  type ForEachTenantOptions,
  type ForEachTenantReport,
} from './tenancy.js'
export type { TenancyAdmin } from './control/tenancy-admin.js'
export type {
  Organization,
  Member,
  CreateOrganizationInput,
  UpdateOrganizationInput,
  LifecycleHooks,
} from './control/organization-types.js'
export { MAX_DOMAINS_PER_ORGANIZATION, type OrganizationDomain } from './control/organization-domains.js'
export { DEFAULT_RESERVED_SLUGS } from './control/slug.js'
export type { AuditEvent } from './control/records.js'
export type { Tenant, MemberTenant, TenantRef } from './tenant.js'
export { currentTenant, requireTenant } from './context/tenant-context.js'
export type { Auth } from './auth/auth.js'
export type { Account } from './auth/accounts.js'
export type { AuthOptions } from './auth/auth-options.js'
export type { SessionLimits } from './auth/session-throttle.js'
export type { IssuedTokens } from './auth/tokens.js'
export type { SigningKey } from './lib/keyring.js'
export type { Register } from './register.js'
export type { Store } from './store.js'
export { memoryStore, type MemoryStoreOptions } from './stores/memory/memory-store.js'
export type {
  TenantCollection,
  Document,
  Filter,
  UpdateFilter,
  CollectionDeclarations,
} from './data/collection-types.js'
export { TenantryError } from './errors.js'
/** Every error class, by name: `err instanceof errors.TenantIsolationError`, or `switch (err.code)`. */
export * as errors from './errors.js'
export type { ErrorCode } from './error-code.js'
export type { Invitation, InvitationOptions } from './members/invitations.js'
export {
  ORGANIZATION_PERMISSIONS,
  BUILT_IN_ROLES,
  type OrganizationPermission,
  type RoleDefinitions,
} from './members/roles.js'
