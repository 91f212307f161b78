import type { Tenancy } from '../../tenancy.js'
import { orgRoutes } from '../org-routes.js'
import { type RouteSwitches, withoutSwitchedOff } from '../route-table.js'
import { buildOpenApi, type OpenApiDocument, type OpenApiOptions } from './build-openapi.js'

/**
 * The OpenAPI 3.1 document of the org routes, the one `orgRouter` serves at `/openapi.json`, for
 * a host that publishes it elsewhere or merges it into its own.
 *
 * @example
 * writeFileSync('openapi.json', JSON.stringify(openApiDocument(tenancy, { prefix: '/api' })))
 */
export function openApiDocument(
  tenancy: Tenancy,
  options: OpenApiOptions & { routes?: RouteSwitches } = {},
): OpenApiDocument {
  const { routes, ...document } = options
  return buildOpenApi(
    withoutSwitchedOff(orgRoutes(tenancy, { identify: document.identify === true }), routes),
    document,
  )
}
