import type { RequestListener } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy, type TenancyOptions } from 'tenantry'
import type { OpenApiDocument } from 'tenantry/http'
import { createPeople, type People } from '../../examples/app-users.js'
import { exampleRoles } from '../../examples/example-setup.js'
import { openApiValidator } from '../support/openapi-validator.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { sessionBrowser } from '../support/session-browser.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { MEMORY } from './contract-store.js'

export type HostAppFactory = (tenancy: Tenancy, options: { people: People }) => RequestListener

/**
 * The HTTP contract a second time, for an app's own users: the example apps sign people in
 * with their own form and session (express-session, koa-session), and tenantry's routes under
 * /my identify them through `identify`; /orgs/:slug/notes is `tenantScope({ member, permission })`.
 */
export function describeHostSignInContract(framework: string, createApp: HostAppFactory, store = MEMORY): void {
  describe(`the HTTP contract for the app's own signed-in users on ${framework}, ${store.name}`, () => {
    let server: RunningServer
    let tenancy: Tenancy
    let document: ReturnType<typeof openApiValidator>

    async function start(limits?: TenancyOptions['limits']) {
      tenancy = createTenancy({
        auth: TEST_AUTH,
        baseDomain: 'example.test',
        roles: exampleRoles,
        store: await store.create(),
        limits,
      })
      server = await startServer(createApp(tenancy, { people: createPeople({ bcryptCost: 4 }) }))
      document = openApiValidator((await (await fetch(`${server.url}/my/openapi.json`)).json()) as OpenApiDocument)
    }
    beforeEach(() => start())
    afterEach(async () => {
      await server.close()
    })

    /** A browser of the app: its session cookie kept, every answer under /my checked against /my/openapi.json. */
    function browser() {
      const { send } = sessionBrowser(server.url)
      const checked = async (method: string, path: string, body?: unknown) => {
        const reply = await send(method, path, body)
        const mismatch = document.check(method, path, reply.status, reply.headers, reply.body)
        if (mismatch) throw new Error(`${method} ${path} not as /my/openapi.json documents: ${mismatch}`)
        return reply
      }
      return {
        send: checked,
        signUp: (email: string) => checked('POST', '/sign-up', { email, password: PASSWORD }),
        signIn: (email: string, password = PASSWORD) => checked('POST', '/sign-in', { email, password }),
        workIn: (slug: string) => checked('PUT', '/me/organization', { slug }),
      }
    }

    async function person(email: string) {
      const one = browser()
      expect((await one.signUp(email)).status).toBe(201)
      return one
    }

    /** Ada owns Acme; Bob, another of the app's people, joined it by invitation as `role`. */
    async function acmeWithBob(role = 'member') {
      const ada = await person('ada@acme.test')
      expect((await ada.send('POST', '/my/org/create', { organization_name: 'Acme' })).status).toBe(201)
      const { body: invited } = await ada.send('POST', '/my/org/invitations', { email: 'bob@acme.test', role })
      const bob = await person('bob@acme.test')
      const { status, body } = await bob.send('POST', '/my/org/invitations/accept', { token: invited.token })
      expect(status).toBe(200)
      return { ada, bob, bobId: body.member.id as string }
    }

    function expectProblem(reply: { status: number; headers: Headers; body: any }, status: number, code: string) {
      expect(reply.status).toBe(status)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.body).toMatchObject({ status, code, type: expect.stringMatching(/^urn:tenantry:problem:/) })
    }

    it('serves the app’s login form, signs its people in with their own password, and refuses a wrong one', async () => {
      const page = await fetch(`${server.url}/sign-in`)
      expect(page.headers.get('content-type')).toMatch(/^text\/html/)
      expect(await page.text()).toMatch(/<form method="post" action="\/sign-in">/)
      await person('ada@acme.test')
      const again = browser()
      expect((await again.signIn('ada@acme.test', 'not the password')).status).toBe(401)
      expect((await again.signIn('ada@acme.test')).status).toBe(200)
      // The HTML form posts urlencoded fields and is sent on to /me.
      const posted = await fetch(`${server.url}/sign-in`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email: 'ada@acme.test', password: PASSWORD }),
      })
      expect(posted.status).toBe(303)
      expect(posted.headers.get('location')).toBe('/me')
    })

    it('answers 401 problem+json on tenantry’s routes to someone the app has not signed in, and serves none of tenantry’s logins there', async () => {
      const anonymous = browser()
      expectProblem(await anonymous.send('POST', '/my/org/create', { organization_name: 'Acme' }), 401, 'NOT_SIGNED_IN')
      expectProblem(await anonymous.send('GET', '/my/org/members'), 401, 'NOT_SIGNED_IN')
      expect((await anonymous.send('POST', '/my/admin/login', { email: 'a@x.test', password: PASSWORD })).status).toBe(
        404,
      )
    })

    it('makes the signed-in person the owner of what they create, taking no email, password or subject from the body', async () => {
      const ada = await person('ada@acme.test')
      const created = await ada.send('POST', '/my/org/create', { organization_name: 'Acme' })
      expect(created).toMatchObject({ status: 201, body: { owner: { role: 'owner', email: 'ada@acme.test' } } })
      for (const forged of [{ subject: 'user:mallory' }, { email: 'mallory@x.test', password: PASSWORD }])
        expectProblem(
          await ada.send('POST', '/my/org/create', { organization_name: 'Globex', ...forged }),
          400,
          'VALIDATION_FAILED',
        )
      expect((await ada.send('GET', '/my/org/members')).body.members).toEqual([
        expect.objectContaining({ email: 'ada@acme.test', role: 'owner' }),
      ])
      // Their notes, through the app's own tenant-scoped route.
      expect((await ada.send('POST', '/orgs/acme/notes', { text: 'plans' })).status).toBe(201)
      expect(await ada.send('GET', '/orgs/acme/notes')).toMatchObject({ status: 200, body: { notes: ['plans'] } })
    })

    it('lets another signed-in person accept an invitation sent to their email, once, and nobody else', async () => {
      const ada = await person('ada@acme.test')
      await ada.send('POST', '/my/org/create', { organization_name: 'Acme' })
      const { body: invited } = await ada.send('POST', '/my/org/invitations', {
        email: 'bob@acme.test',
        role: 'member',
      })
      const mallory = await person('mallory@evil.test')
      expectProblem(
        await mallory.send('POST', '/my/org/invitations/accept', { token: invited.token }),
        401,
        'INVITATION_INVALID',
      )
      // A subject in the body is not who accepts: only the session decides.
      expectProblem(
        await mallory.send('POST', '/my/org/invitations/accept', { token: invited.token, subject: 'user:bob' }),
        400,
        'VALIDATION_FAILED',
      )
      const bob = await person('BOB@acme.test')
      const accepted = await bob.send('POST', '/my/org/invitations/accept', { token: invited.token })
      expect(accepted).toMatchObject({ status: 200, body: { member: { role: 'member', email: 'bob@acme.test' } } })
      expectProblem(
        await bob.send('POST', '/my/org/invitations/accept', { token: invited.token }),
        401,
        'INVITATION_INVALID',
      )
      expect((await ada.send('GET', '/my/org/members')).body.members).toHaveLength(2)
      expectProblem(await mallory.send('GET', '/orgs/acme/notes'), 403, 'TENANT_ACCESS_DENIED')
    })

    it('answers tenantScope({ member, permission }) 200 or 403 by the role the person has on this very request', async () => {
      const { ada, bob, bobId } = await acmeWithBob('member')
      expect((await bob.send('GET', '/orgs/acme/notes')).status).toBe(200)
      expectProblem(await bob.send('POST', '/orgs/acme/notes', { text: 'mine' }), 403, 'PERMISSION_DENIED')
      expect((await ada.send('PATCH', `/my/org/members/${bobId}`, { role: 'editor' })).status).toBe(200)
      expect((await bob.send('POST', '/orgs/acme/notes', { text: 'mine' })).status).toBe(201)
      expect((await ada.send('PATCH', `/my/org/members/${bobId}`, { role: 'member' })).status).toBe(200)
      expectProblem(await bob.send('POST', '/orgs/acme/notes', { text: 'again' }), 403, 'PERMISSION_DENIED')
      // Bob may not give himself a role: only ada's session changes roles.
      expectProblem(await bob.send('PATCH', `/my/org/members/${bobId}`, { role: 'editor' }), 403, 'PERMISSION_DENIED')
    })

    it('refuses a removed member on their very next request, on tenantry’s routes and the app’s', async () => {
      const { ada, bob, bobId } = await acmeWithBob('member')
      expect((await bob.send('GET', '/orgs/acme/notes')).status).toBe(200)
      expect((await ada.send('DELETE', `/my/org/members/${bobId}`)).status).toBe(204)
      expectProblem(await bob.send('GET', '/my/org/members'), 403, 'TENANT_ACCESS_DENIED')
      expectProblem(await bob.send('GET', '/orgs/acme/notes'), 403, 'TENANT_ACCESS_DENIED')
      expectProblem(await bob.send('POST', '/my/org/leave'), 403, 'TENANT_ACCESS_DENIED')
    })

    it('asks a person in several organizations which one, and acts in the one their session names', async () => {
      const { ada } = await acmeWithBob()
      expect((await ada.send('POST', '/my/org/create', { organization_name: 'Globex' })).status).toBe(201)
      const asked = await ada.send('GET', '/my/org/members')
      expectProblem(asked, 400, 'ORGANIZATION_REQUIRED')
      expect(asked.body.organizations.map((org: { slug: string }) => org.slug).sort()).toEqual(['acme', 'globex'])
      expect((await ada.workIn('globex')).status).toBe(200)
      expect((await ada.send('GET', '/my/org/members')).body.members).toHaveLength(1)
      expect((await ada.workIn('acme')).status).toBe(200)
      expect((await ada.send('GET', '/my/org/members')).body.members).toHaveLength(2)
      // Naming an organization one is not in acts nowhere.
      const stranger = await person('stranger@x.test')
      expect((await stranger.workIn('acme')).status).toBe(200)
      expectProblem(await stranger.send('GET', '/my/org/members'), 403, 'TENANT_ACCESS_DENIED')
    })

    it('answers 403 ORGANIZATION_SUSPENDED to members on the very next request after a suspension, tells a non-member nothing, and resume restores everything', async () => {
      const { ada, bob } = await acmeWithBob('editor')
      await bob.send('POST', '/orgs/acme/notes', { text: 'kept' })
      // Every cache warm: the suspension must reach past them.
      expect((await ada.send('GET', '/my/org/members')).status).toBe(200)
      for (const who of [ada, bob]) expect((await who.send('GET', '/orgs/acme/notes')).status).toBe(200)
      const stranger = await person('stranger@x.test')
      const before = await stranger.send('GET', '/orgs/acme/notes')
      const acme = await tenancy.tenant({ slug: 'acme' })
      await tenancy.admin.suspend(acme.id, { reason: 'unpaid' })
      for (const who of [ada, bob]) {
        expectProblem(await who.send('GET', '/orgs/acme/notes'), 403, 'ORGANIZATION_SUSPENDED')
        expectProblem(await who.send('POST', '/my/org/leave'), 403, 'ORGANIZATION_SUSPENDED')
      }
      expectProblem(
        await ada.send('POST', '/my/org/invitations', { email: 'c@x.test', role: 'member' }),
        403,
        'ORGANIZATION_SUSPENDED',
      )
      const during = await stranger.send('GET', '/orgs/acme/notes')
      expect({ status: during.status, body: during.body }).toEqual({ status: before.status, body: before.body })
      await tenancy.admin.resume(acme.id)
      expect(await bob.send('GET', '/orgs/acme/notes')).toMatchObject({ status: 200, body: { notes: ['kept'] } })
      expect((await ada.send('GET', '/my/org/members')).body.members).toHaveLength(2)
    })

    it('answers 409 LIMIT_REACHED past membersPerOrganization, and the invitation waits for a free seat', async () => {
      await server.close()
      await start({ membersPerOrganization: 2 })
      const { ada, bobId } = await acmeWithBob()
      const refused = await ada.send('POST', '/my/org/invitations', { email: 'carol@acme.test', role: 'member' })
      expectProblem(refused, 409, 'LIMIT_REACHED')
      expect(refused.body).toMatchObject({ limit: 'membersPerOrganization', max: 2 })
      expect((await ada.send('DELETE', `/my/org/members/${bobId}`)).status).toBe(204)
      expect((await ada.send('POST', '/my/org/invitations', { email: 'carol@acme.test', role: 'member' })).status).toBe(
        201,
      )
    })
  })
}
