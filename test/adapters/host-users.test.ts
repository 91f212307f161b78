import type { RequestListener } from 'node:http'
import Router from '@koa/router'
import express from 'express'
import session from 'express-session'
import Koa from 'koa'
import koaSession from 'koa-session'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, errors, memoryStore, type Tenancy } from 'tenantry'
import * as expressAdapter from 'tenantry/express'
import * as koaAdapter from 'tenantry/koa'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { sessionBrowser } from '../support/session-browser.js'
import { startServer, type RunningServer } from '../support/start-server.js'

declare module 'express-session' {
  interface SessionData {
    userId?: string
  }
}

/**
 * A host app with its own sign-in (express-session or koa-session): `POST /sign-in` stands in for
 * its login form. `/orgs/:slug/notes` is tenant-scoped by the path and by the signed-in user's
 * membership; writing needs notes:write.
 */
const hosts: Record<string, (tenancy: Tenancy) => RequestListener> = {
  Express(tenancy) {
    const app = express()
    app.use(session({ secret: 'host-session-secret', resave: false, saveUninitialized: false }))
    app.post('/sign-in', express.json(), (req, res) => {
      req.session.userId = (req.body as { userId: string }).userId
      res.status(204).end()
    })
    const scope = (permission?: string) =>
      expressAdapter.tenantScope(tenancy, {
        from: (req) => ({ slug: String(req.params.slug) }),
        member: (req) => req.session.userId ?? null,
        permission,
      })
    app.get('/orgs/:slug/notes', scope('notes:read'), (req, res) => res.json({ member: req.tenant.member }))
    app.post('/orgs/:slug/notes', scope('notes:write'), (_req, res) => res.status(201).end())
    return app
  },
  Koa(tenancy) {
    const app = new Koa()
    app.keys = ['host-session-secret']
    app.use(koaSession({ signed: true }, app))
    const router = new Router()
    const scope = (permission?: string) =>
      koaAdapter.tenantScope(tenancy, {
        from: (ctx) => ({ slug: String(ctx.params.slug) }),
        member: (ctx) => (ctx.session?.userId as string | undefined) ?? null,
        permission,
      })
    router.post('/sign-in', async (ctx) => {
      let raw = ''
      for await (const chunk of ctx.req) raw += chunk
      ctx.session!.userId = JSON.parse(raw).userId
      ctx.status = 204
    })
    router.get('/orgs/:slug/notes', scope('notes:read'), (ctx) => {
      ctx.body = { member: ctx.state.tenant.member }
    })
    router.post('/orgs/:slug/notes', scope('notes:write'), (ctx) => {
      ctx.status = 201
    })
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
  return { send, signIn: (userId: string) => signIn({ userId }) }
}

for (const [framework, host] of Object.entries(hosts)) {
  describe(`the host app's own users on ${framework}`, () => {
    async function setUp() {
      const tenancy = createTenancy({
        auth: TEST_AUTH,
        roles: { member: ['notes:read'], editor: ['notes:read', 'notes:write'] },
        store: memoryStore({ collections: { notes: {} } }),
      })
      const { organization } = await tenancy.orgs.create({
        name: 'Acme',
        owner: { subject: 'user-ada', email: 'ada@acme.test' },
      })
      server = await startServer(host(tenancy))
      return { tenancy, organization, url: server.url }
    }

    it('makes the signed-in host user the owner of the organization they create, with no tenantry password', async () => {
      const { tenancy, organization, url } = await setUp()
      const ada = browser(url)
      await ada.signIn('user-ada')
      const { status, body } = await ada.send('GET', '/orgs/acme/notes')
      expect(status).toBe(200)
      const account = await tenancy.accounts.find('user-ada')
      expect(body.member).toEqual({ id: expect.any(String), accountId: account!.id, role: 'owner' })
      expect((await ada.send('POST', '/orgs/acme/notes')).status).toBe(201)
      expect(organization.slug).toBe('acme')
      await expect(tenancy.auth.login({ email: 'ada@acme.test', password: PASSWORD })).rejects.toMatchObject({
        code: 'INVALID_CREDENTIALS',
      })
    })

    it('answers 401 to nobody signed in and 403 to a signed-in user who is not a member', async () => {
      const { tenancy, url } = await setUp()
      const anonymous = browser(url)
      expect(await anonymous.send('GET', '/orgs/acme/notes')).toMatchObject({
        status: 401,
        body: { code: 'NOT_SIGNED_IN' },
      })
      await tenancy.accounts.link({ subject: 'user-mallory' })
      const mallory = browser(url)
      await mallory.signIn('user-mallory')
      expect(await mallory.send('GET', '/orgs/acme/notes')).toMatchObject({
        status: 403,
        body: { code: 'TENANT_ACCESS_DENIED' },
      })
      // Never linked at all: the same answer.
      await mallory.signIn('user-unknown')
      expect((await mallory.send('GET', '/orgs/acme/notes')).status).toBe(403)
    })

    it('checks a member’s permission by its current role, and a role change or removal counts on the very next request', async () => {
      const { tenancy, organization, url } = await setUp()
      const bob = await tenancy.accounts.link({ subject: 'user-bob', email: 'bob@acme.test' })
      const membership = await tenancy.admin.addMember(organization.id, { accountId: bob.id, role: 'member' })
      const client = browser(url)
      await client.signIn('user-bob')
      expect((await client.send('GET', '/orgs/acme/notes')).body.member).toMatchObject({ role: 'member' })
      expect(await client.send('POST', '/orgs/acme/notes')).toMatchObject({
        status: 403,
        body: { code: 'PERMISSION_DENIED' },
      })
      // The owner acts through the services as the host user the route identified.
      const ada = browser(url)
      await ada.signIn('user-ada')
      const asOwner = { id: organization.id, member: (await ada.send('GET', '/orgs/acme/notes')).body.member }
      await tenancy.members.changeRole(asOwner, membership.id, 'editor')
      expect((await client.send('POST', '/orgs/acme/notes')).status).toBe(201)
      await tenancy.members.remove(asOwner, membership.id)
      expect(await client.send('GET', '/orgs/acme/notes')).toMatchObject({
        status: 403,
        body: { code: 'TENANT_ACCESS_DENIED' },
      })
    })

    it('answers 403 ORGANIZATION_SUSPENDED to the host user of a suspended organization, and serves them again on resume', async () => {
      const { tenancy, organization, url } = await setUp()
      const ada = browser(url)
      await ada.signIn('user-ada')
      expect((await ada.send('GET', '/orgs/acme/notes')).status).toBe(200)
      await tenancy.admin.suspend(organization.id, { reason: 'unpaid' })
      expect(await ada.send('GET', '/orgs/acme/notes')).toMatchObject({
        status: 403,
        body: { code: 'ORGANIZATION_SUSPENDED' },
      })
      await tenancy.admin.resume(organization.id)
      expect((await ada.send('GET', '/orgs/acme/notes')).status).toBe(200)
    })

    it('tells a signed-in user who is not a member nothing of the organization: the same 403 whether it is suspended or not', async () => {
      const { tenancy, organization, url } = await setUp()
      await tenancy.accounts.link({ subject: 'user-mallory' })
      const mallory = browser(url)
      await mallory.signIn('user-mallory')
      const active = await mallory.send('GET', '/orgs/acme/notes')
      await tenancy.admin.suspend(organization.id, { reason: 'unpaid' })
      const suspended = await mallory.send('GET', '/orgs/acme/notes')
      expect(suspended).toEqual(active)
      expect(suspended).toMatchObject({ status: 403, body: { code: 'TENANT_ACCESS_DENIED' } })
    })
  })
}

describe('accounts for host users', () => {
  it('links a subject to one account, idempotently, even under twenty concurrent calls', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    const linked = await Promise.all(
      Array.from({ length: 20 }, () => tenancy.accounts.link({ subject: 'user-1', email: 'one@x.test' })),
    )
    expect(new Set(linked.map((account) => account.id)).size).toBe(1)
    expect(linked[0]).toMatchObject({ subject: 'user-1', email: 'one@x.test' })
    expect(await tenancy.accounts.find('user-1')).toEqual(linked[0])
    expect(await tenancy.accounts.find('user-2')).toBeNull()
  })

  it('never merges a host user into another account by email', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'owner@acme.test', password: PASSWORD })
    await expect(tenancy.accounts.link({ subject: 'claims-owner', email: 'owner@acme.test' })).rejects.toBeInstanceOf(
      errors.EmailTakenError,
    )
    expect(await tenancy.accounts.find('claims-owner')).toBeNull()
  })

  it('refuses a subject that is not a non-empty string, changing nothing', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    for (const subject of ['', '   ', 42, null, { $ne: null }])
      await expect(tenancy.accounts.link({ subject: subject as string })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      })
  })

  it('refuses a tenantScope with member on the token path, and a member that is not a function, at start-up', () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    expect(() => expressAdapter.tenantScope(tenancy, { member: () => 'x' })).toThrow(TypeError)
    expect(() =>
      expressAdapter.tenantScope(tenancy, { from: () => null, member: 'x' as unknown as () => string }),
    ).toThrow(TypeError)
  })
})
