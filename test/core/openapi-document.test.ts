import express from 'express'
import Koa from 'koa'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { createOrgHandler, openApiDocument } from 'tenantry/http'
import { orgRouter as expressOrgRouter } from 'tenantry/express'
import { orgRouter as koaOrgRouter } from 'tenantry/koa'
import { orgRoutes } from '../../src/http/org-routes.js'
import { TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

describe('the OpenAPI document', () => {
  const tenancy = createTenancy({ auth: TEST_AUTH })
  let server: RunningServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  it('has an operation for every route in the route table, with its success and its problems', () => {
    const document = openApiDocument(tenancy)
    const routes = orgRoutes(tenancy, { identify: false })
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(operations.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort())
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const statuses = Object.keys(operation.responses as object)
        expect(
          statuses.some((status) => status.startsWith('2')),
          `${method} ${path}`,
        ).toBe(true)
        expect(statuses, `${method} ${path}`).toContain('400')
        expect(operation.operationId, `${method} ${path}`).toEqual(expect.any(String))
      }
    }
    expect(new Set(operations).size).toBe(operations.length)
  })

  it('is OpenAPI 3.1 with components, a bearer scheme, and no inline $defs', () => {
    const document = openApiDocument(tenancy)
    expect(document.openapi).toBe('3.1.0')
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(Object.keys(document.components.schemas)).toEqual(
      expect.arrayContaining(['Problem', 'Organization', 'Member', 'Tokens', 'Invitation']),
    )
    expect(JSON.stringify(document)).not.toContain('$defs')
    // Every reference points at a component that exists.
    for (const [, name] of JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
      expect(document.components.schemas).toHaveProperty(name!)
    expect(document.paths['/admin/login']!.post!.security).toEqual([])
    expect(document.paths['/org/members']!.get!.security).toEqual([{ bearer: [] }])
  })

  it('lists a route’s problem codes under their statuses, with the WWW-Authenticate header on 401', () => {
    const login = openApiDocument(tenancy).paths['/admin/login']!.post! as {
      responses: Record<
        string,
        {
          content: Record<string, { schema: { allOf: [unknown, { properties: { code: { enum: string[] } } }] } }>
          headers?: object
        }
      >
    }
    const codes = (status: string) =>
      login.responses[status]!.content['application/problem+json']!.schema.allOf[1].properties.code.enum
    expect(codes('400')).toEqual(
      expect.arrayContaining(['VALIDATION_FAILED', 'MALFORMED_JSON', 'ORGANIZATION_REQUIRED']),
    )
    expect(codes('401')).toEqual(['INVALID_CREDENTIALS'])
    expect(codes('429')).toEqual(['TOO_MANY_REQUESTS'])
    const members = openApiDocument(tenancy).paths['/org/members']!.get! as typeof login
    expect(members.responses['401']!.headers).toHaveProperty('WWW-Authenticate')
    expect(
      members.responses['403']!.content['application/problem+json']!.schema.allOf[1].properties.code.enum,
    ).toContain('PERMISSION_DENIED')
  })

  it('is served at /openapi.json by both adapters, the same as openApiDocument(tenancy)', async () => {
    for (const app of [express().use(expressOrgRouter(tenancy)), new Koa().use(koaOrgRouter(tenancy)).callback()]) {
      server = await startServer(app)
      const reply = await fetch(`${server.url}/openapi.json`)
      expect(reply.status).toBe(200)
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
      expect(await reply.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument(tenancy))))
      expect((await fetch(`${server.url}/openapi.json`, { method: 'POST' })).status).toBe(405)
      await server.close()
      server = undefined
    }
  })

  it('leaves out what the router leaves out, carries the mount prefix, and can be turned off', async () => {
    const document = async (options: Parameters<typeof createOrgHandler>[1]) => {
      const response = await createOrgHandler(tenancy, options).handle({
        method: 'GET',
        url: `${options?.prefix ?? ''}/openapi.json`,
        headers: {},
        body: (async function* () {})(),
      })
      return response && JSON.parse(response.body as string)
    }
    const closed = await document({ routes: { create: false, get: false } })
    expect(closed.paths).not.toHaveProperty('/org/create')
    expect(closed.paths).not.toHaveProperty('/org/get')
    expect(closed).toEqual(
      JSON.parse(JSON.stringify(openApiDocument(tenancy, { routes: { create: false, get: false } }))),
    )
    expect(Object.keys((await document({ prefix: '/admin' })).paths)).toContain('/admin/admin/login')
    expect(await document({ openapi: false })).toBeNull()
    expect(() => createOrgHandler(tenancy, { openapi: 'yes' as never })).toThrow(TypeError)
  })
})
