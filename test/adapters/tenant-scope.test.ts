import type { RequestListener } from 'node:http'
import express from 'express'
import Koa from 'koa'
import Router from '@koa/router'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTenancy, currentTenant, type Tenancy } from 'tenantry'
import * as expressAdapter from 'tenantry/express'
import * as koaAdapter from 'tenantry/koa'
import { requestWithHost } from '../support/request-with-host.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const boom = () => {
  throw new Error('the host’s own code failed')
}

/**
 * The same small host app on each framework: routes whose resolver or authorize misbehave, a
 * route that forgot tenantScope, and the context option. Errors reach the host's own handler,
 * which answers 500 with the message, so the test can see where each error went.
 */
const FRAMEWORKS: [string, (tenancy: Tenancy) => RequestListener][] = [
  [
    'Express',
    (tenancy) => {
      const { orgRouter, tenantScope } = expressAdapter
      const app = express()
      app.use(orgRouter(tenancy))
      app.get('/resolver-throws', tenantScope(tenancy, { from: boom }), (_req, res) => void res.end())
      app.get('/resolver-rejects', tenantScope(tenancy, { from: async () => boom() }), (_req, res) => void res.end())
      app.get(
        '/authorize-throws',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: boom }),
        (_req, res) => void res.end(),
      )
      app.get(
        '/malformed-ref',
        tenantScope(tenancy, { from: () => ({ id: 'x', slug: 'acme' }) }),
        (_req, res) => void res.end(),
      )
      app.get(
        '/async',
        tenantScope(tenancy, { from: async () => ({ slug: 'acme' }), authorize: async () => true }),
        (req, res) => void res.json({ slug: req.tenant.slug }),
      )
      app.get(
        '/authorize-forgot-return',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (() => undefined) as never }),
        (_req, res) => void res.end(),
      )
      app.get(
        '/async-authorize-forgot-return',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (async () => undefined) as never }),
        (_req, res) => void res.end(),
      )
      app.get(
        '/sync-authorize',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: () => true }),
        (req, res) => void res.json({ slug: req.tenant.slug }),
      )
      app.get(
        '/sync-authorize-truthy',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (() => 'yes') as never }),
        (_req, res) => void res.end(),
      )
      app.get('/resolver-null', tenantScope(tenancy, { from: () => null }), (_req, res) => void res.end())
      app.get(
        '/resolver-undefined',
        tenantScope(tenancy, { from: async () => undefined }),
        (_req, res) => void res.end(),
      )
      app.get(
        '/notes-write',
        tenantScope(tenancy, { permission: 'notes:write' }),
        (req, res) => void res.json({ slug: req.tenant.slug }),
      )
      app.get('/forgot-scope', (req, res) => void res.json({ name: req.tenant.name }))
      app.get('/context', tenantScope(tenancy, { from: 'host', context: true }), async (_req, res) => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        res.json({ current: currentTenant()?.slug ?? null })
      })
      app.get(
        '/no-context',
        tenantScope(tenancy, { from: 'host' }),
        (_req, res) => void res.json({ current: currentTenant()?.slug ?? null }),
      )
      app.use(
        (err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          res.status(500).json({ caught: err.message, code: err.code ?? null })
        },
      )
      return app
    },
  ],
  [
    'Koa',
    (tenancy) => {
      const { orgRouter, tenantScope } = koaAdapter
      const app = new Koa()
      app.use(async (ctx, next) => {
        try {
          await next()
        } catch (err) {
          ctx.status = 500
          ctx.body = { caught: (err as Error).message, code: (err as { code?: string }).code ?? null }
        }
      })
      app.use(orgRouter(tenancy))
      const router = new Router()
      router.get('/resolver-throws', tenantScope(tenancy, { from: boom }), (ctx) => void (ctx.status = 204))
      router.get(
        '/resolver-rejects',
        tenantScope(tenancy, { from: async () => boom() }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/authorize-throws',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: boom }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/malformed-ref',
        tenantScope(tenancy, { from: () => ({ id: 'x', slug: 'acme' }) }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/async',
        tenantScope(tenancy, { from: async () => ({ slug: 'acme' }), authorize: async () => true }),
        (ctx) => void (ctx.body = { slug: ctx.state.tenant.slug }),
      )
      router.get(
        '/authorize-forgot-return',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (() => undefined) as never }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/async-authorize-forgot-return',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (async () => undefined) as never }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/sync-authorize',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: () => true }),
        (ctx) => void (ctx.body = { slug: ctx.state.tenant.slug }),
      )
      router.get(
        '/sync-authorize-truthy',
        tenantScope(tenancy, { from: () => ({ slug: 'acme' }), authorize: (() => 'yes') as never }),
        (ctx) => void (ctx.status = 204),
      )
      router.get('/resolver-null', tenantScope(tenancy, { from: () => null }), (ctx) => void (ctx.status = 204))
      router.get(
        '/resolver-undefined',
        tenantScope(tenancy, { from: async () => undefined }),
        (ctx) => void (ctx.status = 204),
      )
      router.get(
        '/notes-write',
        tenantScope(tenancy, { permission: 'notes:write' }),
        (ctx) => void (ctx.body = { slug: ctx.state.tenant.slug }),
      )
      router.get('/forgot-scope', (ctx) => void (ctx.body = { name: ctx.state.tenant.name }))
      router.get('/context', tenantScope(tenancy, { from: 'host', context: true }), async (ctx) => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        ctx.body = { current: currentTenant()?.slug ?? null }
      })
      router.get(
        '/no-context',
        tenantScope(tenancy, { from: 'host' }),
        (ctx) => void (ctx.body = { current: currentTenant()?.slug ?? null }),
      )
      app.use(router.routes())
      return app.callback()
    },
  ],
]

for (const [framework, createApp] of FRAMEWORKS) {
  describe(`tenantScope on ${framework}`, () => {
    let server: RunningServer
    let tenancy: Tenancy
    beforeEach(async () => {
      tenancy = createTenancy({ auth: TEST_AUTH, baseDomain: 'example.test' })
      await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
      server = await startServer(createApp(tenancy))
    })
    afterEach(async () => {
      await server.close()
    })
    const get = (path: string, host = '127.0.0.1') => requestWithHost(server.url, path, { host })

    it('hands a resolver that throws, or rejects, to the host’s error handling, never a 4xx', async () => {
      for (const path of ['/resolver-throws', '/resolver-rejects'])
        expect(await get(path)).toMatchObject({ status: 500, body: { caught: 'the host’s own code failed' } })
    })

    it('hands an authorize that throws to the host’s error handling', async () => {
      expect(await get('/authorize-throws')).toMatchObject({
        status: 500,
        body: { caught: 'the host’s own code failed' },
      })
    })

    it('treats a malformed reference from a resolver as the host’s bug', async () => {
      expect(await get('/malformed-ref')).toMatchObject({
        status: 500,
        body: { caught: expect.stringContaining('exactly one') },
      })
    })

    it('awaits an async resolver and authorize', async () => {
      expect(await get('/async')).toMatchObject({ status: 200, body: { slug: 'acme' } })
    })

    it('denies unless authorize answers exactly true', async () => {
      for (const path of ['/authorize-forgot-return', '/async-authorize-forgot-return', '/sync-authorize-truthy'])
        expect(await get(path)).toMatchObject({ status: 403, body: { code: 'TENANT_ACCESS_DENIED' } })
    })

    it('lets the request through when a synchronous authorize answers true', async () => {
      expect(await get('/sync-authorize')).toMatchObject({ status: 200, body: { slug: 'acme' } })
    })

    it('answers 404 when the resolver names no tenant, synchronously or not', async () => {
      for (const path of ['/resolver-null', '/resolver-undefined'])
        expect(await get(path)).toMatchObject({ status: 404, body: { code: 'TENANT_NOT_IDENTIFIED' } })
    })

    it('answers 403 naming the permission when the token’s role lacks it, and lets a role that holds it through', async () => {
      const owner = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
      const bearer = (token: string) => ({ host: '127.0.0.1', headers: { authorization: `Bearer ${token}` } })
      expect(await requestWithHost(server.url, '/notes-write', bearer(owner.accessToken))).toMatchObject({
        status: 200,
        body: { slug: 'acme' },
      })
      const acting = await tenancy.authenticate(owner.accessToken)
      const { token } = await tenancy.invitations.invite(acting, { email: 'm@acme.test', role: 'member' })
      const member = await tenancy.invitations.accept({ token, password: PASSWORD })
      const reply = await requestWithHost(server.url, '/notes-write', bearer(member.tokens.accessToken))
      expect(reply).toMatchObject({
        status: 403,
        body: { code: 'PERMISSION_DENIED', detail: 'this needs the notes:write permission' },
      })
    })

    it('fails a route that forgot tenantScope with an error naming tenantScope', async () => {
      const reply = await get('/forgot-scope')
      expect(reply.status).toBe(500)
      expect(reply.body).toEqual({ caught: expect.stringContaining('tenantScope'), code: 'NO_TENANT_CONTEXT' })
    })

    it('runs the rest of the request as the tenant only when asked to', async () => {
      expect((await get('/context', 'acme.example.test')).body).toEqual({ current: 'acme' })
      expect((await get('/no-context', 'acme.example.test')).body).toEqual({ current: null })
    })
  })
}

describe('tenantScope options', () => {
  const tenancy = createTenancy({ auth: TEST_AUTH, baseDomain: 'example.test' })
  const bare = createTenancy({ auth: TEST_AUTH })
  for (const [framework, tenantScope] of [
    ['Express', expressAdapter.tenantScope],
    ['Koa', koaAdapter.tenantScope],
  ] as const) {
    it(`refuses bad options at start-up with a TypeError that says what is wrong, on ${framework}`, () => {
      const bad: [Tenancy, unknown, RegExp][] = [
        [tenancy, null, /tenantScope options must be an object/],
        [tenancy, 'token', /tenantScope options must be an object/],
        [tenancy, { from: 'cookie' }, /from must be 'token', 'host' or a function/],
        [tenancy, { authorize: 'yes' }, /authorize must be a function/],
        [tenancy, { context: 'yes' }, /context must be a boolean/],
        [tenancy, { baseDomain: 'example.test' }, /baseDomain goes with from: 'host'/],
        [tenancy, { from: 'host', baseDomain: 'not a domain' }, /baseDomain "not a domain" is not a hostname/],
        [
          tenancy,
          { from: 'host', baseDomain: ['example.test', 'not a domain'] },
          /baseDomain "not a domain" is not a hostname/,
        ],
        [
          tenancy,
          { from: 'host', baseDomain: 'other.test' },
          /baseDomain other\.test is not one of createTenancy's baseDomain/,
        ],
        [bare, { from: 'host' }, /needs a baseDomain, here or in createTenancy/],
        [tenancy, { permission: 'write' }, /permission must be named area:action/],
        [tenancy, { permission: 'notes:write', from: 'host' }, /permission needs from: 'token'/],
        [tenancy, { permission: 'notes:write', from: () => ({ slug: 'acme' }) }, /permission needs from: 'token'/],
      ]
      for (const [owner, options, message] of bad) {
        expect(() => tenantScope(owner, options as never)).toThrow(TypeError)
        expect(() => tenantScope(owner, options as never)).toThrow(message)
      }
      expect(() => tenantScope(bare, { from: 'host', baseDomain: ['example.test', 'localhost'] })).not.toThrow()
      expect(() => tenantScope(tenancy, { from: 'host' })).not.toThrow()
      expect(() => tenantScope(tenancy, { from: 'host', baseDomain: 'Example.Test' })).not.toThrow()
      expect(() =>
        tenantScope(tenancy, { permission: 'notes:write', context: true, authorize: () => true }),
      ).not.toThrow()
    })
  }
})
