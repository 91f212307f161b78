export { createTenancy, type Tenancy, type TenancyOptions } from './tenancy.js'
export { OrgService, type Organization, type Admin, type CreateOrganizationInput, type UpdateOrganizationInput, type MigrateOptions, type MigrationReport } from './orgs/org-service.js'
export { AdminAuth, type AdminAuthOptions, type IssuedTokens, type AccessTokenClaims } from './auth/admin-auth.js'
export type { SigningKey } from './lib/keyring.js'
export type { LoginLimits } from './lib/login-throttle.js'
export { TenantRegistry, type Tenant } from './context/tenant-registry.js'
export type { TenantCacheOptions } from './context/tenant-cache.js'
export { AuditLog, type AuditInput } from './audit-log.js'
export type { Register, RegisteredTenant, RegisteredTenantData } from './register.js'
export type {
  TenantStore,
  TenantDataOf,
  OrganizationRecord,
  OrganizationState,
  OrganizationQuery,
  OrganizationPatch,
  AdminRecord,
  AdminQuery,
  AdminPatch,
  SessionRecord,
  SessionQuery,
  RefreshTokenRecord,
  AuditEvent,
  AuditEventType,
} from './store.js'
export { memoryStore } from './stores/memory/memory-store.js'
export { MemoryCollection, type MemoryCursor, type MemoryDocument, type FindOptions } from './stores/memory/memory-collection.js'
export {
  TenantryError,
  ValidationError,
  MalformedJsonError,
  UnsupportedMediaTypeError,
  PayloadTooLargeError,
  MethodNotAllowedError,
  OrganizationNameTakenError,
  AdminEmailTakenError,
  OrganizationNotFoundError,
  ForbiddenError,
  InvalidCredentialsError,
  TokenMissingError,
  TokenInvalidError,
  TokenExpiredError,
  RefreshTokenInvalidError,
  DuplicateKeyError,
  TooManyRequestsError,
  type FieldIssue,
} from './errors.js'
export { createOrgHandler, type OrgHandler, type OrgRouterOptions } from './http/org-handler.js'
export { scopeRequest } from './http/scope-request.js'
export { toProblem } from './http/problem.js'
export type { HttpRequest, HttpResponse } from './http/http-types.js'
