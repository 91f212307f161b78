import type { RequestListener } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy } from 'tenantry'
import { requestWithHost, type HostReply } from '../support/request-with-host.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { exampleRoles } from '../../examples/example-setup.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { MEMORY } from './contract-store.js'
import { addMember } from '../support/members.js'

export type ContextAppFactory = (tenancy: Tenancy, options?: { trustProxy?: boolean }) => RequestListener

const BASE = 'example.test'

/**
 * The contract of slugs, custom domains and every `tenantScope` strategy, run unchanged against
 * the Express and the Koa example apps: /site (host), /api/notes (the app's own user, with
 * context), /orgs/:slug/notes (path + authorize).
 */
export function describeTenantContextContract(framework: string, createApp: ContextAppFactory, store = MEMORY): void {
  describe(`tenant context over HTTP on ${framework}, ${store.name}`, () => {
    let server: RunningServer
    let tenancy: Tenancy

    beforeEach(async () => {
      // The example apps' roles: their routes ask for notes:read and notes:write.
      tenancy = createTenancy({ auth: TEST_AUTH, baseDomain: BASE, roles: exampleRoles, store: await store.create() })
      server = await startServer(createApp(tenancy))
    })
    afterEach(async () => {
      await server.close()
    })

    const send = (
      method: string,
      path: string,
      options: { json?: unknown; token?: string; headers?: Record<string, string> } = {},
    ) =>
      requestWithHost(server.url, path, {
        host: '127.0.0.1',
        method,
        json: options.json,
        headers: { ...options.headers, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      })
    const atHost = (host: string, path = '/site', headers: Record<string, string> = {}) =>
      requestWithHost(server.url, path, { host, headers })

    let emails = 0
    async function organization(name: string, slug?: string) {
      const email = `admin${++emails}@${name.toLowerCase().replace(/\W/g, '')}.test`
      const created = await send('POST', '/org/create', {
        json: { organization_name: name, email, password: PASSWORD, ...(slug ? { slug } : {}) },
      })
      expect(created.status).toBe(201)
      const token = (await send('POST', '/admin/login', { json: { email, password: PASSWORD } })).body
        .access_token as string
      return { id: created.body.organization.id as string, slug: created.body.organization.slug as string, token }
    }

    function expectProblem(reply: HostReply, status: number, code?: string) {
      expect(reply.status).toBe(status)
      expect(String(reply.headers['content-type'])).toMatch(/^application\/problem\+json/)
      if (code) expect(reply.body.code).toBe(code)
    }

    describe('slugs', () => {
      it('derives a slug from the name, and takes one given at create', async () => {
        expect((await organization('Café Society GmbH')).slug).toBe('cafe-society-gmbh')
        expect((await organization('Globex', 'globex-hq')).slug).toBe('globex-hq')
      })

      it('gives a derived slug that is taken a suffix, but refuses a chosen one', async () => {
        await organization('Acme')
        expect((await organization('ACME!')).slug).toMatch(/^acme-[0-9a-f]{6}$/)
        const reply = await send('POST', '/org/create', {
          json: { organization_name: 'Other', email: 'o@o.test', password: PASSWORD, slug: 'acme' },
        })
        expectProblem(reply, 409, 'SLUG_TAKEN')
        expectProblem(await send('GET', '/org/get?organization_name=Other'), 404)
      })

      it('refuses reserved and malformed slugs with 400 and creates nothing', async () => {
        for (const slug of ['www', 'api', '-acme', 'acme-', 'ac_me', 'a'.repeat(64), 'acme.corp', '']) {
          expectProblem(
            await send('POST', '/org/create', {
              json: { organization_name: 'Slugged', email: 's@s.test', password: PASSWORD, slug },
            }),
            400,
            'VALIDATION_FAILED',
          )
        }
        expectProblem(await send('GET', '/org/get?organization_name=Slugged'), 404)
      })

      it('finds an organization by slug, and wants a name or a slug but not both', async () => {
        const acme = await organization('Acme')
        expect((await send('GET', '/org/get?slug=ACME')).body.organization).toMatchObject({ id: acme.id, slug: 'acme' })
        expectProblem(await send('GET', '/org/get?slug=acme&organization_name=Acme'), 400, 'VALIDATION_FAILED')
        expectProblem(await send('GET', '/org/get'), 400, 'VALIDATION_FAILED')
        expectProblem(await send('GET', '/org/get?slug=nobody'), 404, 'ORGANIZATION_NOT_FOUND')
      })

      it('changes the slug: the old one stops resolving at once, everywhere', async () => {
        const acme = await organization('Acme')
        expect((await atHost('acme.example.test')).status).toBe(200)
        const reply = await send('PUT', '/org/update', {
          json: { organization_name: 'Acme', slug: 'acme-inc' },
          token: acme.token,
        })
        expect(reply.status).toBe(200)
        expect(reply.body.organization.slug).toBe('acme-inc')
        expectProblem(await atHost('acme.example.test'), 404, 'ORGANIZATION_NOT_FOUND')
        expectProblem(await send('GET', '/org/get?slug=acme'), 404)
        expect((await atHost('acme-inc.example.test')).body.organization).toEqual({ name: 'Acme', slug: 'acme-inc' })
      })

      it('refuses a slug another organization holds, and changes nothing', async () => {
        const acme = await organization('Acme')
        await organization('Globex')
        expectProblem(
          await send('PUT', '/org/update', {
            json: { organization_name: 'Acme Renamed', slug: 'globex' },
            token: acme.token,
          }),
          409,
          'SLUG_TAKEN',
        )
        expect((await send('GET', '/org/get?slug=acme')).body.organization.name).toBe('Acme')
      })
    })

    describe('custom domains', () => {
      it('adds a domain normalized, lists it and removes it', async () => {
        const acme = await organization('Acme')
        const added = await send('POST', '/org/domains', { json: { domain: ' Shop.Acme.COM. ' }, token: acme.token })
        expect(added.status).toBe(201)
        expect(added.body).toEqual({ domain: { domain: 'shop.acme.com', created_at: expect.any(String) } })
        expect((await send('GET', '/org/domains', { token: acme.token })).body.domains).toEqual([added.body.domain])
        expect(
          (await send('DELETE', '/org/domains', { json: { domain: 'SHOP.acme.com' }, token: acme.token })).status,
        ).toBe(204)
        expect((await send('GET', '/org/domains', { token: acme.token })).body.domains).toEqual([])
      })

      it('refuses a domain another organization holds with 409', async () => {
        const acme = await organization('Acme')
        const globex = await organization('Globex')
        await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: acme.token })
        expectProblem(
          await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: globex.token }),
          409,
          'DOMAIN_TAKEN',
        )
        expect((await atHost('shop.acme.com')).body.organization.slug).toBe('acme')
      })

      it('refuses what is not a hostname, or is under the base domain, with 400', async () => {
        const acme = await organization('Acme')
        for (const domain of [
          'localhost',
          '127.0.0.1',
          'shop.acme.com:8080',
          'shop.acme.com/path',
          'https://shop.acme.com',
          'a..com',
          'example.test',
          'globex.example.test',
          `${'x'.repeat(300)}.com`,
        ]) {
          expectProblem(
            await send('POST', '/org/domains', { json: { domain }, token: acme.token }),
            400,
            'VALIDATION_FAILED',
          )
        }
        expectProblem(
          await send('POST', '/org/domains', { json: { domain: { $gt: '' } }, token: acme.token }),
          400,
          'VALIDATION_FAILED',
        )
        expect((await send('GET', '/org/domains', { token: acme.token })).body.domains).toEqual([])
      })

      it('will not remove a domain of another organization', async () => {
        const acme = await organization('Acme')
        const globex = await organization('Globex')
        await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: acme.token })
        expectProblem(
          await send('DELETE', '/org/domains', { json: { domain: 'shop.acme.com' }, token: globex.token }),
          404,
          'DOMAIN_NOT_FOUND',
        )
        expect((await atHost('shop.acme.com')).status).toBe(200)
      })

      it('answers 401 to domain routes without a token', async () => {
        expectProblem(await send('GET', '/org/domains'), 401, 'TOKEN_MISSING')
        expectProblem(await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' } }), 401, 'TOKEN_MISSING')
      })
    })

    describe('identifying the tenant by host', () => {
      it('finds the organization by subdomain, whatever the case, a trailing dot or a port', async () => {
        await organization('Acme')
        for (const host of ['acme.example.test', 'ACME.Example.TEST', 'acme.example.test.', 'acme.example.test:8443']) {
          const reply = await atHost(host)
          expect(reply.status).toBe(200)
          expect(reply.body).toEqual({ organization: { name: 'Acme', slug: 'acme' } })
        }
      })

      it('finds the organization by its custom domain, until the domain is removed', async () => {
        const acme = await organization('Acme')
        await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: acme.token })
        expect((await atHost('Shop.Acme.com')).body.organization.slug).toBe('acme')
        await send('DELETE', '/org/domains', { json: { domain: 'shop.acme.com' }, token: acme.token })
        expectProblem(await atHost('shop.acme.com'), 404, 'ORGANIZATION_NOT_FOUND')
      })

      it('takes the base domain, www and deeper names for no tenant at all', async () => {
        await organization('Acme')
        for (const host of ['example.test', 'www.example.test', 'a.acme.example.test', '127.0.0.1'])
          expectProblem(await atHost(host), 404, 'TENANT_NOT_IDENTIFIED')
      })

      it('answers 404 for an unknown subdomain or domain', async () => {
        expectProblem(await atHost('nobody.example.test'), 404, 'ORGANIZATION_NOT_FOUND')
        expectProblem(await atHost('shop.nobody.com'), 404, 'ORGANIZATION_NOT_FOUND')
      })

      it('ignores X-Forwarded-Host unless the app trusts its proxy', async () => {
        await organization('Acme')
        await organization('Globex')
        expectProblem(
          await atHost('example.test', '/site', { 'x-forwarded-host': 'acme.example.test' }),
          404,
          'TENANT_NOT_IDENTIFIED',
        )
        expect(
          (await atHost('globex.example.test', '/site', { 'x-forwarded-host': 'acme.example.test' })).body.organization
            .slug,
        ).toBe('globex')

        const behindProxy = await startServer(createApp(tenancy, { trustProxy: true }))
        try {
          const reply = await requestWithHost(behindProxy.url, '/site', {
            host: 'internal.lb',
            headers: { 'x-forwarded-host': 'acme.example.test' },
          })
          expect(reply.body.organization.slug).toBe('acme')
        } finally {
          await behindProxy.close()
        }
      })

      it('stops resolving a deleted organization’s slug and domain at once', async () => {
        const acme = await organization('Acme')
        await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: acme.token })
        expect((await atHost('acme.example.test')).status).toBe(200)
        expect((await atHost('shop.acme.com')).status).toBe(200)
        expect(
          (await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: acme.token })).status,
        ).toBe(204)
        expectProblem(await atHost('acme.example.test'), 404, 'ORGANIZATION_NOT_FOUND')
        expectProblem(await atHost('shop.acme.com'), 404, 'ORGANIZATION_NOT_FOUND')
        // The domain is free again for whoever claims it next.
        const globex = await organization('Globex')
        expect(
          (await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: globex.token })).status,
        ).toBe(201)
      })
    })

    describe('the app’s own users', () => {
      async function appUser(token: string) {
        const reply = await send('POST', '/app-users', { json: { name: 'Ada' }, token })
        expect(reply.status).toBe(201)
        return reply.body.api_key as string
      }

      it('scopes a request by the app’s own user, with the tenant in context for code far below', async () => {
        const acme = await organization('Acme')
        const globex = await organization('Globex')
        await send('POST', '/notes', { json: { text: 'acme note' }, token: acme.token })
        await send('POST', '/notes', { json: { text: 'globex note' }, token: globex.token })
        const reply = await send('GET', '/api/notes', { headers: { 'x-api-key': await appUser(acme.token) } })
        expect(reply.status).toBe(200)
        expect(reply.body.notes).toEqual(['acme note'])
      })

      it('answers 404 when the resolver names no tenant', async () => {
        expectProblem(await send('GET', '/api/notes'), 404, 'TENANT_NOT_IDENTIFIED')
        expectProblem(
          await send('GET', '/api/notes', { headers: { 'x-api-key': 'ak_forged' } }),
          404,
          'TENANT_NOT_IDENTIFIED',
        )
      })

      it('lets only someone who may add people mint an API key, and ends the key with its membership', async () => {
        const acme = await organization('Acme')
        const key = await appUser(acme.token)
        expect((await send('GET', '/api/notes', { headers: { 'x-api-key': key } })).status).toBe(200)
        const { body } = await send('GET', '/org/members', { token: acme.token })
        const keyMember = body.members.find((member: { email: string | null }) => member.email === null)
        expect(keyMember).toMatchObject({ role: 'member' })
        // An API key is no token, and a plain member may not mint one.
        expectProblem(
          await send('POST', '/app-users', { json: { name: 'Mallory' }, headers: { 'x-api-key': key } }),
          401,
          'TOKEN_MISSING',
        )
        const plain = await addMember(send, acme.token, 'plain@acme.test', 'member')
        expectProblem(
          await send('POST', '/app-users', { json: { name: 'Mallory' }, token: plain.accessToken }),
          403,
          'PERMISSION_DENIED',
        )
        expect((await send('DELETE', `/org/members/${keyMember.id}`, { token: acme.token })).status).toBe(204)
        expectProblem(await send('GET', '/api/notes', { headers: { 'x-api-key': key } }), 403, 'TENANT_ACCESS_DENIED')
        expectProblem(
          await send('GET', '/orgs/acme/notes', { headers: { 'x-api-key': key } }),
          403,
          'TENANT_ACCESS_DENIED',
        )
      })

      it('lets a user reach its own organization by path, and answers 403 for another', async () => {
        const acme = await organization('Acme')
        const globex = await organization('Globex')
        await send('POST', '/notes', { json: { text: 'globex secret' }, token: globex.token })
        const key = await appUser(acme.token)
        expect((await send('GET', '/orgs/acme/notes', { headers: { 'x-api-key': key } })).body).toEqual({
          organization: 'acme',
          notes: [],
        })
        const refused = await send('GET', '/orgs/globex/notes', { headers: { 'x-api-key': key } })
        expectProblem(refused, 403, 'TENANT_ACCESS_DENIED')
        expect(JSON.stringify(refused.body)).not.toContain('globex secret')
        // No user at all: nobody signed in, before anything about the organization is checked.
        expectProblem(await send('GET', '/orgs/globex/notes'), 401, 'NOT_SIGNED_IN')
        expectProblem(
          await send('GET', '/orgs/nobody/notes', { headers: { 'x-api-key': key } }),
          404,
          'ORGANIZATION_NOT_FOUND',
        )
      })

      it('stops a user of a deleted organization at once', async () => {
        const acme = await organization('Acme')
        const key = await appUser(acme.token)
        expect((await send('GET', '/api/notes', { headers: { 'x-api-key': key } })).status).toBe(200)
        await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: acme.token })
        expectProblem(await send('GET', '/api/notes', { headers: { 'x-api-key': key } }), 404, 'ORGANIZATION_NOT_FOUND')
      })
    })
  })
}
