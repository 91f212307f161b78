import express from 'express'
import Koa from 'koa'
import { bodyParser } from '@koa/bodyparser'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, TenantryError } from 'tenantry'
import { createOrgHandler } from 'tenantry/http'
import { orgRouter as expressOrgRouter, tenantScope as expressTenantScope } from 'tenantry/express'
import { orgRouter as koaOrgRouter, tenantScope as koaTenantScope } from 'tenantry/koa'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { storeOf } from '../support/store-of.js'

const body = { organization_name: 'Acme', email: 'a@acme.test', password: PASSWORD }
const body2 = { name: 'Globex', email: 'g@globex.test', password: PASSWORD }

describe('mounting the org routes in a host app', () => {
  let server: RunningServer | undefined
  afterEach(async () => {
    await server?.close()
    server = undefined
  })

  const post = (path: string, payload: unknown) =>
    fetch(server!.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    })

  it('leaves out public sign-up and the public organization lookup when told to, on both adapters', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create(body2)
    for (const app of [
      express().use(expressOrgRouter(tenancy, { routes: { create: false, get: false } })),
      new Koa().use(koaOrgRouter(tenancy, { routes: { create: false, get: false } })).callback(),
    ]) {
      server = await startServer(app)
      expect((await post('/org/create', body)).status).toBe(404)
      expect((await fetch(`${server.url}/org/get?organization_name=Globex`)).status).toBe(404)
      // Everything else is still served.
      expect((await post('/admin/login', { email: body2.email, password: PASSWORD })).status).toBe(200)
      await server.close()
      server = undefined
    }
    expect(await tenancy.orgs.get('Acme')).toBeNull()
    expect(() => expressOrgRouter(tenancy, { routes: { create: 'no' } as never })).toThrow(TypeError)
    expect(() => koaOrgRouter(tenancy, { routes: { delete: false } as never })).toThrow(TypeError)
  })

  it('works behind a body parser the Express host mounted first', async () => {
    const app = express()
      .use(express.json())
      .use(expressOrgRouter(createTenancy({ auth: TEST_AUTH })))
    server = await startServer(app)
    expect((await post('/org/create', body)).status).toBe(201)
    expect((await post('/org/create', { ...body, organization_name: { $gt: '' } })).status).toBe(400)
  })

  it('works behind a body parser the Koa host mounted first', async () => {
    const app = new Koa().use(bodyParser()).use(koaOrgRouter(createTenancy({ auth: TEST_AUTH })))
    server = await startServer(app.callback())
    expect((await post('/org/create', body)).status).toBe(201)
    expect((await post('/org/create', { ...body, password: ['x'] })).status).toBe(400)
  })

  it('serves under an Express mount path', async () => {
    server = await startServer(express().use('/api', expressOrgRouter(createTenancy({ auth: TEST_AUTH }))))
    expect((await post('/api/org/create', body)).status).toBe(201)
    expect((await fetch(`${server.url}/api/org/get?organization_name=acme`)).status).toBe(200)
  })

  it('serves under a prefix for routers that do not strip their mount path', async () => {
    server = await startServer(
      new Koa().use(koaOrgRouter(createTenancy({ auth: TEST_AUTH }), { prefix: '/api' })).callback(),
    )
    expect((await post('/api/org/create', body)).status).toBe(201)
    expect((await post('/org/create', body)).status).toBe(404)
  })

  it('honours a smaller body limit', async () => {
    server = await startServer(express().use(expressOrgRouter(createTenancy({ auth: TEST_AUTH }), { bodyLimit: 64 })))
    const reply = await post('/org/create', body)
    expect(reply.status).toBe(413)
    expect(await reply.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' })
  })

  it('passes failures that are not the client’s to the host’s error handling', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    storeOf(tenancy).records.accounts.find = async () => {
      throw new Error('database unreachable')
    }
    const seen: unknown[] = []
    const app = express()
      .use(expressOrgRouter(tenancy))
      .use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        seen.push(err)
        res.status(503).end()
      })
    server = await startServer(app)
    expect((await post('/org/create', body)).status).toBe(503)
    expect(seen).toHaveLength(1)
    expect(seen[0]).not.toBeInstanceOf(TenantryError)
  })

  async function tokenForBrokenStore() {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    storeOf(tenancy).records.organizations.find = async () => {
      throw new Error('database unreachable')
    }
    return { tenancy, headers: { authorization: `Bearer ${accessToken}` } }
  }

  it('lets an Express host handle a store failure behind tenantScope', async () => {
    const { tenancy, headers } = await tokenForBrokenStore()
    const seen: unknown[] = []
    const app = express()
      .get('/notes', expressTenantScope(tenancy), (_req, res) => res.json({}))
      .use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        seen.push(err)
        res.status(503).end()
      })
    server = await startServer(app)
    expect((await fetch(`${server.url}/notes`, { headers })).status).toBe(503)
    expect(seen).toEqual([expect.objectContaining({ message: 'database unreachable' })])
  })

  it('lets a Koa host handle a store failure behind tenantScope', async () => {
    const { tenancy, headers } = await tokenForBrokenStore()
    const seen: unknown[] = []
    const app = new Koa()
      .use(async (ctx, next) => {
        try {
          await next()
        } catch (err) {
          seen.push(err)
          ctx.status = 503
        }
      })
      .use(koaTenantScope(tenancy))
      .use((ctx) => {
        ctx.body = {}
      })
    server = await startServer(app.callback())
    expect((await fetch(`${server.url}/notes`, { headers })).status).toBe(503)
    expect(seen).toEqual([expect.objectContaining({ message: 'database unreachable' })])
  })

  it('refuses bad router options at start-up with a TypeError', () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    expect(() => createOrgHandler(tenancy, { bodyLimit: 0 })).toThrow(TypeError)
    expect(() => createOrgHandler(tenancy, { prefix: 'api' })).toThrow(TypeError)
    expect(() => createOrgHandler(tenancy, { prefix: '/api/' })).toThrow(TypeError)
  })
})
