import { z } from 'zod'
import { PROBLEMS } from '../problem.js'
import type { OrgRoute } from '../route-table.js'
import { routeDocs } from './route-docs.js'
import { Problem, successes } from './wire-schemas.js'

type JsonObject = Record<string, unknown>

/** An OpenAPI 3.1 document, as plain JSON. */
export interface OpenApiDocument {
  openapi: '3.1.0'
  info: { title: string; version: string; description?: string }
  paths: Record<string, Record<string, JsonObject>>
  components: { schemas: Record<string, JsonObject>; securitySchemes: Record<string, JsonObject> }
  [key: string]: unknown
}

/** What a document is about: the host's name for the API and where it is mounted. */
export interface OpenApiOptions {
  title?: string
  version?: string
  /** The path the org routes are mounted under, such as `/api`; every path in the document starts with it. */
  prefix?: string
  /** The routes sign in through the host app (`orgRouter`'s `identify`), not by token. */
  identify?: boolean
}

/**
 * The OpenAPI 3.1 document of the route table, from the same zod schemas that validate the
 * requests (as input schemas) and describe the answers (as output schemas). Named schemas become
 * `components/schemas`; every route lists every status it can answer, problems with their
 * `code` values.
 */
export function buildOpenApi(routes: readonly OrgRoute[], options: OpenApiOptions = {}): OpenApiDocument {
  const schemas: Record<string, JsonObject> = {}
  jsonSchema(Problem, 'output', schemas)
  const paths: OpenApiDocument['paths'] = {}
  for (const route of routes) {
    const key = route.docsKey ?? `${route.method} ${route.path}`
    const docs = routeDocs[key]
    const success = (successes as Record<string, { status: number; body?: z.ZodType }>)[key]
    if (!docs || !success) throw new Error(`tenantry: the route ${key} has no OpenAPI description`)
    const operation: JsonObject = { operationId: docs.operationId, summary: docs.summary, tags: [docs.tag] }
    const parameters: JsonObject[] = []
    if (route.path.includes('{id}'))
      parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'string' } })
    if (route.input === 'query') parameters.push(...queryParameters(jsonSchema(route.schema, 'input', schemas)))
    if (parameters.length > 0) operation.parameters = parameters
    if (route.input === 'body') {
      const optional = route.schema.safeParse(undefined).success
      operation.requestBody = {
        required: !optional,
        content: { 'application/json': { schema: jsonSchema(route.schema, 'input', schemas) } },
      }
    }
    operation.security = security(route, options.identify === true)
    operation.responses = {
      [success.status]: success.body
        ? {
            description: 'Success',
            content: { 'application/json': { schema: jsonSchema(success.body, 'output', schemas) } },
          }
        : { description: 'Success; no body' },
      ...problemResponses(route, docs.errors, options.identify === true),
    }
    paths[`${options.prefix ?? ''}${route.path}`] ??= {}
    paths[`${options.prefix ?? ''}${route.path}`]![route.method.toLowerCase()] = operation
  }
  return {
    openapi: '3.1.0',
    info: {
      title: options.title ?? 'Organization management (tenantry)',
      version: options.version ?? '1.0.0',
      description:
        'Organizations, their members and sessions. Errors are RFC 9457 problem details with a stable `code`.',
    },
    // Relative: the document is served by the API it describes, wherever that is.
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'An access token from POST /admin/login',
        },
      },
    },
  }
}

/**
 * Public routes say so (`[]`), so a client never guesses whether to send a token. Under
 * `identify` the host's own sign-in (its session cookie) authenticates: nothing tenantry can name.
 */
function security(route: OrgRoute, identify: boolean): JsonObject[] {
  if (route.authenticated === false || (identify && !route.tokenOnly)) return []
  return route.authenticated === 'optional' ? [{ bearer: [] }, {}] : [{ bearer: [] }]
}

/** The problem codes a route can answer with: its own, and those of every route of its kind. */
function problemCodes(route: OrgRoute, own: readonly string[], identify: boolean): string[] {
  const codes = new Set(own)
  codes.add('VALIDATION_FAILED')
  if (route.input === 'body')
    for (const code of ['MALFORMED_JSON', 'UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE']) codes.add(code)
  const byHost = identify && !route.tokenOnly && route.authenticated !== false
  if (byHost) codes.add('NOT_SIGNED_IN')
  if (byHost && route.method !== 'GET') codes.add('CROSS_ORIGIN_REFUSED')
  if (byHost && route.authenticated === true) codes.add('TENANT_ACCESS_DENIED').add('ORGANIZATION_REQUIRED')
  if (!byHost && route.authenticated !== false)
    for (const code of ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED']) codes.add(code)
  // A suspended organization's members are refused on every route that knows who they are.
  if (route.authenticated !== false) codes.add('ORGANIZATION_SUSPENDED')
  if (route.permission !== undefined) codes.add('PERMISSION_DENIED')
  return [...codes]
}

function problemResponses(route: OrgRoute, own: readonly string[], identify: boolean): Record<string, JsonObject> {
  const byStatus = new Map<number, string[]>()
  for (const code of problemCodes(route, own, identify)) {
    const problem = PROBLEMS[code]
    if (!problem) throw new Error(`tenantry: ${code} is not a problem code`)
    byStatus.set(problem.status, [...(byStatus.get(problem.status) ?? []), code])
  }
  const responses: Record<string, JsonObject> = {}
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const first = PROBLEMS[codes[0]!]!
    const response: JsonObject = {
      description: codes.map((code) => PROBLEMS[code]!.title).join('; '),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [
              { $ref: '#/components/schemas/Problem' },
              { type: 'object', properties: { status: { const: status }, code: { enum: codes } } },
            ],
          },
          example: {
            type: `urn:tenantry:problem:${codes[0]!.toLowerCase().replaceAll('_', '-')}`,
            title: first.title,
            status,
            detail: first.title,
            code: codes[0],
          },
        },
      },
    }
    if (codes.some((code) => code.startsWith('TOKEN_')) || codes.includes('PERMISSION_DENIED')) {
      response.headers = {
        'WWW-Authenticate': {
          description: 'A Bearer challenge (RFC 6750 §3), with the TOKEN_* and PERMISSION_DENIED problems',
          schema: { type: 'string' },
        },
      }
    }
    if (status === 429)
      response.headers = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'string' } } }
    responses[String(status)] = response
  }
  return responses
}

/** One query parameter per property of an object schema. */
function queryParameters(schema: JsonObject): JsonObject[] {
  const properties = (schema.properties ?? {}) as Record<string, JsonObject>
  const required = new Set((schema.required ?? []) as string[])
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: property,
  }))
}

/**
 * A zod schema as JSON Schema 2020-12 for the document: named subschemas moved to
 * `components/schemas` and referenced from there, never inline `$defs`.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, JsonObject>): JsonObject {
  const converted = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonObject
  const { $schema: _dialect, $defs, ...rest } = converted
  for (const [name, definition] of Object.entries(($defs ?? {}) as Record<string, JsonObject>))
    components[name] ??= relink(definition) as JsonObject
  // A named schema at the top converts to itself with an id: reference it instead.
  const id = (rest as { id?: string }).id
  if (typeof id === 'string') {
    const { id: _id, ...definition } = rest
    components[id] ??= relink(definition) as JsonObject
    return { $ref: `#/components/schemas/${id}` }
  }
  return relink(rest) as JsonObject
}

function relink(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(relink)
  if (typeof value !== 'object' || value === null) return value
  const result: JsonObject = {}
  for (const [key, inner] of Object.entries(value)) {
    result[key] =
      key === '$ref' && typeof inner === 'string' ? inner.replace('#/$defs/', '#/components/schemas/') : relink(inner)
  }
  return result
}
