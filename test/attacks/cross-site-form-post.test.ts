import type { RequestListener } from 'node:http'
import { bodyParser } from '@koa/bodyparser'
import express from 'express'
import session from 'express-session'
import Koa from 'koa'
import koaSession from 'koa-session'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import * as expressAdapter from 'tenantry/express'
import type { HostIdentity } from 'tenantry/http'
import * as koaAdapter from 'tenantry/koa'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

type User = { id: string; email: string; organization?: string }
const identityOf = (user: User | undefined): HostIdentity | null =>
  user ? { subject: user.id, email: user.email } : null
const ALLOWED = ['https://app.example.test']

/**
 * Host apps as they are commonly written: a global form parser in front of everything
 * (`express.urlencoded()`, `@koa/bodyparser` with its defaults), tenantry's routes by token at
 * the root and, under `/my`, acting as the session's user through `identify`.
 */
const hosts: Record<string, (tenancy: Tenancy) => RequestListener> = {
  Express(tenancy) {
    const app = express()
    app.use(express.urlencoded({ extended: true }), express.json(), express.text())
    app.use(session({ secret: 'host-session-secret', resave: false, saveUninitialized: false }))
    app.post('/sign-in', (req, res) => {
      req.session.user = req.body as User
      res.status(204).end()
    })
    app.use(
      '/my',
      expressAdapter.orgRouter(tenancy, {
        identify: (req) => identityOf(req.session.user),
        routes: { auth: false },
        allowedOrigins: ALLOWED,
      }),
    )
    app.use(expressAdapter.orgRouter(tenancy))
    return app
  },
  Koa(tenancy) {
    const app = new Koa()
    app.keys = ['host-session-secret']
    app.use(bodyParser({ enableTypes: ['json', 'form', 'text'] }))
    app.use(koaSession({ signed: true }, app))
    app.use(async (ctx, next) => {
      if (ctx.path !== '/sign-in') return next()
      ctx.session!.user = ctx.request.body as User
      ctx.status = 204
    })
    app.use(
      koaAdapter.orgRouter(tenancy, {
        prefix: '/my',
        identify: (ctx) => identityOf(ctx.session?.user as User | undefined),
        routes: { auth: false },
        allowedOrigins: ALLOWED,
      }),
    )
    app.use(koaAdapter.orgRouter(tenancy))
    return app.callback()
  },
}

declare module 'express-session' {
  interface SessionData {
    user?: User
  }
}

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

for (const [framework, host] of Object.entries(hosts)) {
  describe(`a cross-site post behind a global form parser on ${framework}`, () => {
    async function setUp() {
      const tenancy = createTenancy({ auth: { ...TEST_AUTH, signUpLimit: false }, store: memoryStore() })
      server = await startServer(host(tenancy))
      const { url } = server
      let cookie = ''
      const send = async (
        method: string,
        path: string,
        body?: string,
        headers: Record<string, string> = {},
      ): Promise<{ status: number; body: any }> => {
        const response = await fetch(url + path, { method, headers: { cookie, ...headers }, body })
        const set = response.headers.getSetCookie().map((line) => line.split(';')[0])
        if (set.length > 0) cookie = set.join('; ')
        const text = await response.text()
        return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
      }
      const json = { 'content-type': 'application/json' }
      await send('POST', '/sign-in', JSON.stringify({ id: 'user-ada', email: 'ada@acme.test' }), json)
      expect((await send('POST', '/my/org/create', JSON.stringify({ organization_name: 'Acme' }), json)).status).toBe(
        201,
      )
      const pending = async () => (await send('GET', '/my/org/invitations')).body.invitations.length
      return { tenancy, send, json, pending }
    }

    it('answers 415 to a form or text/plain body the host already parsed, and invites no one', async () => {
      const { send, pending } = await setUp()
      for (const [type, body] of [
        ['application/x-www-form-urlencoded', 'email=mallory%40evil.test&role=admin'],
        ['text/plain', '{"email":"mallory@evil.test","role":"admin"}'],
      ] as const) {
        const reply = await send('POST', '/my/org/invitations', body, { 'content-type': type })
        expect(reply, type).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } })
      }
      expect(await pending()).toBe(0)
    })

    it('answers 415 to a form body on the routes that take no identity, too', async () => {
      const { send } = await setUp()
      const form = 'organization_name=Globex&email=owner%40globex.test&password=' + encodeURIComponent(PASSWORD)
      const reply = await send('POST', '/org/create', form, { 'content-type': 'application/x-www-form-urlencoded' })
      expect(reply).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } })
      expect((await send('GET', '/org/get?organization_name=Globex')).status).toBe(404)
    })

    it('refuses a JSON request from another site with 403 CROSS_ORIGIN_REFUSED, by Origin or Sec-Fetch-Site', async () => {
      const { send, json, pending } = await setUp()
      const invite = JSON.stringify({ email: 'mallory@evil.test', role: 'admin' })
      for (const headers of [
        { origin: 'https://evil.test' } as Record<string, string>,
        { origin: 'null' },
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' },
        // A sibling subdomain is same-site, not same-origin.
        { 'sec-fetch-site': 'same-site', origin: 'https://evil.example.test' },
        { 'sec-fetch-site': 'cross-site' },
      ]) {
        const reply = await send('POST', '/my/org/invitations', invite, { ...json, ...headers })
        expect(reply, JSON.stringify(headers)).toMatchObject({ status: 403, body: { code: 'CROSS_ORIGIN_REFUSED' } })
      }
      expect((await send('DELETE', '/my/org/members/x', undefined, { origin: 'https://evil.test' })).status).toBe(403)
      expect(await pending()).toBe(0)
    })

    it('serves the same origin, the allowed origins, clients that send neither header, and safe methods from anywhere', async () => {
      const { send, json, pending } = await setUp()
      const invite = (email: string) => JSON.stringify({ email, role: 'member' })
      const sameOrigin = { origin: server!.url }
      expect((await send('POST', '/my/org/invitations', invite('a@x.test'), { ...json, ...sameOrigin })).status).toBe(
        201,
      )
      const fetched = { 'sec-fetch-site': 'same-origin', origin: 'https://proxied.test' }
      expect((await send('POST', '/my/org/invitations', invite('b@x.test'), { ...json, ...fetched })).status).toBe(201)
      const allowed = { 'sec-fetch-site': 'cross-site', origin: 'https://app.example.test' }
      expect((await send('POST', '/my/org/invitations', invite('c@x.test'), { ...json, ...allowed })).status).toBe(201)
      expect((await send('POST', '/my/org/invitations', invite('d@x.test'), json)).status).toBe(201)
      expect((await send('GET', '/my/org/members', undefined, { origin: 'https://evil.test' })).status).toBe(200)
      expect(await pending()).toBe(4)
    })
  })
}

describe('allowedOrigins', () => {
  it('is checked at start-up: origins only, no paths or wildcards', () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    const identify = () => null
    for (const allowedOrigins of [['https://app.test/path'], ['ftp://app.test'], ['*'], 'https://app.test'])
      expect(() => expressAdapter.orgRouter(tenancy, { identify, allowedOrigins: allowedOrigins as never })).toThrow(
        TypeError,
      )
    expect(() => koaAdapter.orgRouter(tenancy, { identify, allowedOrigins: ['https://app.test:8443'] })).not.toThrow()
  })
})
