/**
 * `tenantry/http`: the framework-neutral HTTP kit the Express and Koa adapters are built on.
 * Use it to support another framework: hand `createOrgHandler` and `createScopeRequest` plain
 * request data, send back the plain responses they return, and map errors with `toProblem`.
 *
 * @packageDocumentation
 * @module tenantry/http
 */
export { createOrgHandler, type OrgHandler, type OrgRouterOptions } from './org-handler.js'
export {
  createScopeRequest,
  ScopeProblem,
  type TenantScopeOptions,
  type TenantSource,
  type ScopeRequest,
  type ScopeResult,
  type RequestReader,
} from './tenant-scope.js'
export { toProblem } from './problem.js'
export {
  MalformedJsonError,
  UnsupportedMediaTypeError,
  PayloadTooLargeError,
  MethodNotAllowedError,
  CrossOriginRequestError,
} from './http-errors.js'
export type { HttpRequest, HttpResponse, HostIdentity } from './http-types.js'
export { openApiDocument } from './openapi/openapi-document.js'
export type { OpenApiDocument, OpenApiOptions } from './openapi/build-openapi.js'
export type { RouteSwitches } from './route-table.js'
