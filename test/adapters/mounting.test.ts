import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import type { RequestListener } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { orgRouter as expressOrgRouter } from 'tenantry/express'
import { orgRouter as koaOrgRouter } from 'tenantry/koa'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

/** The ways docs/http-contract.md shows to mount the org routes under a path, on both frameworks. */
const mounts: [string, string, () => RequestListener][] = [
  [
    'Express, app.use with a path',
    '/api',
    () => express().use('/api', expressOrgRouter(createTenancy({ auth: TEST_AUTH }), { openapi: { prefix: '/api' } })),
  ],
  [
    'Express, inside an express.Router',
    '/api',
    () =>
      express().use(
        '/api',
        express.Router().use(expressOrgRouter(createTenancy({ auth: TEST_AUTH }), { openapi: { prefix: '/api' } })),
      ),
  ],
  [
    'Express, under /admin',
    '/admin',
    () =>
      express().use('/admin', expressOrgRouter(createTenancy({ auth: TEST_AUTH }), { openapi: { prefix: '/admin' } })),
  ],
  [
    'Koa, app.use with prefix',
    '/api',
    () => new Koa().use(koaOrgRouter(createTenancy({ auth: TEST_AUTH }), { prefix: '/api' })).callback(),
  ],
  [
    'Koa, a @koa/router route that matches everything under its prefix',
    '/api',
    () => {
      const router = new Router({ prefix: '/api' })
      // A route, not router.use(): @koa/router runs use() middleware only for paths one of its routes matches.
      router.all('/{*rest}', koaOrgRouter(createTenancy({ auth: TEST_AUTH }), { prefix: '/api' }))
      return new Koa().use(router.routes()).callback()
    },
  ],
  [
    'Koa, under /admin',
    '/admin',
    () => new Koa().use(koaOrgRouter(createTenancy({ auth: TEST_AUTH }), { prefix: '/admin' })).callback(),
  ],
]

describe('mounting the org routes under a path', () => {
  let server: RunningServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  for (const [name, prefix, app] of mounts) {
    it(`serves every route and the document under the path: ${name}`, async () => {
      server = await startServer(app())
      const post = (path: string, body: unknown) =>
        fetch(server!.url + prefix + path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      expect(
        (await post('/org/create', { organization_name: 'Acme', email: 'a@acme.test', password: PASSWORD })).status,
      ).toBe(201)
      const login = await post('/admin/login', { email: 'a@acme.test', password: PASSWORD })
      expect(login.status).toBe(200)
      const token = ((await login.json()) as { access_token: string }).access_token
      expect(
        (await fetch(`${server.url}${prefix}/org/members`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200)
      // Problems keep their shape under a path: no framework plain-text 404 in between.
      const missing = await fetch(`${server.url}${prefix}/org/get?organization_name=Nobody`)
      expect(missing.status).toBe(404)
      expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const document = (await (await fetch(`${server.url}${prefix}/openapi.json`)).json()) as { paths: object }
      expect(Object.keys(document.paths)).toContain(`${prefix}/admin/login`)
      // Nothing answers outside the path.
      expect((await fetch(`${server.url}/org/get?organization_name=Acme`)).status).toBe(404)
    })
  }
})
