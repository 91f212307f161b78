import type { RequestListener } from 'node:http'
import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import express from 'express'
import session from 'express-session'
import Koa from 'koa'
import koaSession from 'koa-session'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import * as expressAdapter from 'tenantry/express'
import type { HostIdentity } from 'tenantry/http'
import * as koaAdapter from 'tenantry/koa'
import { TEST_AUTH } from '../support/secret.js'
import { sessionBrowser } from '../support/session-browser.js'
import { startServer, type RunningServer } from '../support/start-server.js'

declare module 'express-session' {
  interface SessionData {
    user?: { id: string; email: string; organization?: string }
  }
}

type SessionUser = { id: string; email: string; organization?: string }
const identityOf = (user: SessionUser | undefined): HostIdentity | null =>
  user
    ? {
        subject: user.id,
        email: user.email,
        ...(user.organization ? { organization: { slug: user.organization } } : {}),
      }
    : null

/**
 * A host app that signs its users in itself (express-session, koa-session) and puts tenantry's
 * routes behind that sign-in with `identify`; tenantry's own login routes are off.
 * `POST /sign-in` stands in for the app's login form.
 */
const hosts: Record<string, (tenancy: Tenancy) => RequestListener> = {
  Express(tenancy) {
    const app = express()
    app.use(session({ secret: 'host-session-secret', resave: false, saveUninitialized: false }))
    app.post('/sign-in', express.json(), (req, res) => {
      req.session.user = req.body as SessionUser
      res.status(204).end()
    })
    app.use(orgRouter(tenancy))
    app.get(
      '/orgs/:slug/notes',
      expressAdapter.tenantScope(tenancy, {
        from: (req) => ({ slug: String(req.params.slug) }),
        member: (req) => req.session.user?.id ?? null,
        permission: 'notes:write',
      }),
      (req, res) => res.json({ role: req.tenant.member?.role }),
    )
    return app
    function orgRouter(of: Tenancy) {
      return expressAdapter.orgRouter(of, { identify: (req) => identityOf(req.session.user), routes: { auth: false } })
    }
  },
  Koa(tenancy) {
    const app = new Koa()
    app.keys = ['host-session-secret']
    app.use(koaSession({ signed: true }, app))
    app.use(bodyParser())
    const router = new Router()
    router.post('/sign-in', (ctx) => {
      ctx.session!.user = ctx.request.body as SessionUser
      ctx.status = 204
    })
    router.get(
      '/orgs/:slug/notes',
      koaAdapter.tenantScope(tenancy, {
        from: (ctx) => ({ slug: String(ctx.params.slug) }),
        member: (ctx) => (ctx.session?.user as SessionUser | undefined)?.id ?? null,
        permission: 'notes:write',
      }),
      (ctx) => {
        ctx.body = { role: ctx.state.tenant.member?.role }
      },
    )
    app.use(
      koaAdapter.orgRouter(tenancy, {
        identify: (ctx) => identityOf(ctx.session?.user as SessionUser | undefined),
        routes: { auth: false },
      }),
    )
    app.use(router.routes())
    return app.callback()
  },
}

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

/** A browser of the host app, signing in as the app's login form would. */
function browser(url: string) {
  const { send, signIn } = sessionBrowser(url)
  return { send, signIn: (user: SessionUser) => signIn(user) }
}

for (const [framework, host] of Object.entries(hosts)) {
  describe(`tenantry's routes behind the host's own sign-in on ${framework}`, () => {
    async function setUp() {
      const tenancy = createTenancy({
        auth: TEST_AUTH,
        roles: { member: ['notes:read'], editor: ['notes:read', 'notes:write'] },
        store: memoryStore({ collections: { notes: {} } }),
      })
      server = await startServer(host(tenancy))
      const ada = browser(server.url)
      await ada.signIn({ id: 'user-ada', email: 'ada@acme.test' })
      return { tenancy, url: server.url, ada }
    }

    it('answers 401 problem+json to a caller nobody signed in, on every route that needs a member', async () => {
      const { url } = await setUp()
      const anonymous = browser(url)
      for (const [method, path, body] of [
        ['POST', '/org/create', { organization_name: 'Acme' }],
        ['GET', '/org/members', undefined],
        ['POST', '/org/invitations/accept', { token: 'x'.repeat(43) }],
      ] as const)
        expect(await anonymous.send(method, path, body), `${method} ${path}`).toMatchObject({
          status: 401,
          body: { code: 'NOT_SIGNED_IN' },
        })
    })

    it('makes the signed-in user the owner of what they create, and takes no email, password or subject from the body', async () => {
      const { ada } = await setUp()
      const created = await ada.send('POST', '/org/create', { organization_name: 'Acme' })
      expect(created).toMatchObject({ status: 201, body: { owner: { role: 'owner', email: 'ada@acme.test' } } })
      for (const extra of [{ subject: 'user-mallory' }, { email: 'x@x.test', password: 'correct horse battery' }])
        expect((await ada.send('POST', '/org/create', { organization_name: 'Globex', ...extra })).status).toBe(400)
      expect((await ada.send('GET', '/org/members')).body.members).toHaveLength(1)
    })

    it('lets a signed-in user accept an invitation sent to their email, and no one else', async () => {
      const { ada, url } = await setUp()
      await ada.send('POST', '/org/create', { organization_name: 'Acme' })
      const { body: invited } = await ada.send('POST', '/org/invitations', { email: 'bob@acme.test', role: 'member' })
      const mallory = browser(url)
      await mallory.signIn({ id: 'user-mallory', email: 'mallory@evil.test' })
      expect(await mallory.send('POST', '/org/invitations/accept', { token: invited.token })).toMatchObject({
        status: 401,
        body: { code: 'INVITATION_INVALID' },
      })
      const bob = browser(url)
      await bob.signIn({ id: 'user-bob', email: 'BOB@acme.test'.toLowerCase() })
      const accepted = await bob.send('POST', '/org/invitations/accept', { token: invited.token })
      expect(accepted).toMatchObject({ status: 200, body: { member: { role: 'member', email: 'bob@acme.test' } } })
      // Single use: the same token a second time, by anyone.
      expect((await bob.send('POST', '/org/invitations/accept', { token: invited.token })).status).toBe(401)
      expect((await ada.send('GET', '/org/members')).body.members).toHaveLength(2)
    })

    it('applies role changes and removals to the host user’s very next request, on tenantry’s routes and the app’s', async () => {
      const { ada, url } = await setUp()
      await ada.send('POST', '/org/create', { organization_name: 'Acme' })
      const { body: invited } = await ada.send('POST', '/org/invitations', { email: 'bob@acme.test', role: 'member' })
      const bob = browser(url)
      await bob.signIn({ id: 'user-bob', email: 'bob@acme.test' })
      const { body } = await bob.send('POST', '/org/invitations/accept', { token: invited.token })
      expect((await bob.send('GET', '/orgs/acme/notes')).status).toBe(403)
      expect((await ada.send('PATCH', `/org/members/${body.member.id}`, { role: 'editor' })).status).toBe(200)
      expect(await bob.send('GET', '/orgs/acme/notes')).toMatchObject({ status: 200, body: { role: 'editor' } })
      expect((await ada.send('DELETE', `/org/members/${body.member.id}`)).status).toBe(204)
      expect(await bob.send('GET', '/org/members')).toMatchObject({
        status: 403,
        body: { code: 'TENANT_ACCESS_DENIED' },
      })
      expect((await bob.send('GET', '/orgs/acme/notes')).status).toBe(403)
    })

    it('refuses a signed-in user who belongs nowhere, and asks one who belongs to several which organization', async () => {
      const { ada, url } = await setUp()
      const stranger = browser(url)
      await stranger.signIn({ id: 'user-stranger', email: 'stranger@x.test' })
      expect(await stranger.send('GET', '/org/members')).toMatchObject({
        status: 403,
        body: { code: 'TENANT_ACCESS_DENIED' },
      })
      await ada.send('POST', '/org/create', { organization_name: 'Acme' })
      await ada.send('POST', '/org/create', { organization_name: 'Globex' })
      expect(await ada.send('GET', '/org/members')).toMatchObject({
        status: 400,
        body: { code: 'ORGANIZATION_REQUIRED', organizations: [{ slug: expect.any(String) }, expect.anything()] },
      })
      await ada.signIn({ id: 'user-ada', email: 'ada@acme.test', organization: 'globex' })
      expect(await ada.send('GET', '/org/members')).toMatchObject({ status: 200 })
      // A session naming an organization the user is not in acts nowhere.
      await stranger.signIn({ id: 'user-stranger', email: 'stranger@x.test', organization: 'acme' })
      expect((await stranger.send('GET', '/org/members')).status).toBe(403)
    })

    it('serves none of tenantry’s own login routes when they are switched off, and documents the host sign-in', async () => {
      const { ada } = await setUp()
      expect((await ada.send('POST', '/admin/login', { email: 'ada@acme.test', password: 'x' })).status).toBe(404)
      const { body: document } = await ada.send('GET', '/openapi.json')
      expect(Object.keys(document.paths)).not.toContain('/admin/login')
      const create = document.paths['/org/create'].post
      expect(create.security).toEqual([])
      expect(JSON.stringify(create.requestBody)).not.toContain('password')
      expect(Object.keys(create.responses)).toContain('401')
    })
  })
}
