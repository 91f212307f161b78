import type { RequestListener } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy } from 'tenantry'
import type { OpenApiDocument } from 'tenantry/http'
import { openApiValidator } from '../support/openapi-validator.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { MEMORY } from './contract-store.js'

export type AppFactory = (tenancy: Tenancy) => RequestListener

interface Reply {
  status: number
  headers: Headers
  body: any
}

/**
 * The HTTP contract of tenantry's routes and `tenantScope`, run unchanged against every
 * adapter through the example host apps (which add tenant-scoped `/notes`).
 */
export function describeHttpContract(framework: string, createApp: AppFactory, store = MEMORY): void {
  describe(`the HTTP contract on ${framework}, ${store.name}`, () => {
    let server: RunningServer
    let tenancy: Tenancy

    let document: ReturnType<typeof openApiValidator>
    beforeEach(async () => {
      tenancy = createTenancy({
        // Sign-ups unlimited here: these tests create dozens of organizations from one address.
        auth: { ...TEST_AUTH, signUpLimit: false },
        baseDomain: 'example.test',
        store: await store.create(),
      })
      server = await startServer(createApp(tenancy))
      document = openApiValidator((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument)
    })
    afterEach(async () => {
      await server.close()
    })

    async function send(
      method: string,
      path: string,
      options: { json?: unknown; raw?: RequestInit['body']; headers?: Record<string, string>; token?: string } = {},
    ): Promise<Reply> {
      const headers: Record<string, string> = { ...options.headers }
      if (options.json !== undefined) headers['content-type'] ??= 'application/json'
      if (options.token) headers.authorization = `Bearer ${options.token}`
      const init: RequestInit & { duplex?: 'half' } = { method, headers }
      if (options.json !== undefined) init.body = JSON.stringify(options.json)
      if (options.raw !== undefined) {
        init.body = options.raw
        if (options.raw instanceof ReadableStream) init.duplex = 'half'
      }
      const response = await fetch(server.url + path, init)
      const text = await response.text()
      const body = text === '' ? undefined : JSON.parse(text)
      // Every answer of tenantry's routes is checked against the document the app serves.
      const mismatch = document.check(method, path, response.status, response.headers, body)
      if (mismatch) throw new Error(`not as /openapi.json documents: ${mismatch}`)
      return { status: response.status, headers: response.headers, body }
    }

    const create = (name: string, email: string, password = PASSWORD) =>
      send('POST', '/org/create', { json: { organization_name: name, email, password } })
    const login = async (email: string, password = PASSWORD) =>
      (await send('POST', '/admin/login', { json: { email, password } })).body.access_token as string
    const getOrg = (name: string) => send('GET', `/org/get?organization_name=${encodeURIComponent(name)}`)

    async function tenantWithToken(name: string, email: string) {
      expect((await create(name, email)).status).toBe(201)
      return login(email)
    }

    function expectProblem(reply: Reply, status: number, code?: string) {
      expect(reply.status).toBe(status)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(reply.body).toMatchObject({
        status,
        type: expect.stringMatching(/^urn:tenantry:problem:/),
        title: expect.any(String),
        detail: expect.any(String),
      })
      if (code) expect(reply.body.code).toBe(code)
    }

    describe('creating an organization', () => {
      it('answers 201 with the organization and its admin, and nothing secret', async () => {
        const reply = await create('Acme Corp', 'Admin@Acme.test')
        expect(reply.status).toBe(201)
        expect(reply.body).toEqual({
          organization: {
            id: expect.any(String),
            name: 'Acme Corp',
            slug: 'acme-corp',
            created_at: expect.any(String),
            updated_at: expect.any(String),
          },
          admin: { id: expect.any(String), email: 'admin@acme.test' },
          owner: {
            id: expect.any(String),
            account_id: reply.body.admin.id,
            email: 'admin@acme.test',
            role: 'owner',
            created_at: expect.any(String),
          },
        })
        expect(new Date(reply.body.organization.created_at).toISOString()).toBe(reply.body.organization.created_at)
        expect(JSON.stringify(reply.body)).not.toMatch(/\$2[aby]\$|password|t_[0-9a-f]{24}/)
      })

      it('refuses a name taken by another organization, ignoring case and surrounding spaces', async () => {
        await create('Acme', 'a@acme.test')
        expectProblem(await create('  aCME ', 'b@acme.test'), 409, 'ORGANIZATION_NAME_TAKEN')
        // The refused create left no admin behind: its email cannot log in.
        expectProblem(
          await send('POST', '/admin/login', { json: { email: 'b@acme.test', password: PASSWORD } }),
          401,
          'INVALID_CREDENTIALS',
        )
      })

      it('refuses an email that has an account, unless the create gives that account’s own password', async () => {
        await create('Acme', 'a@acme.test')
        expectProblem(await create('Globex', 'A@ACME.test', 'not the account password'), 409, 'ADMIN_EMAIL_TAKEN')
        expectProblem(await getOrg('Globex'), 404, 'ORGANIZATION_NOT_FOUND')
        const second = await create('Globex', 'A@ACME.test')
        expect(second.status).toBe(201)
        expect(second.body.owner.account_id).toBe((await create('Initech', 'a@acme.test')).body.owner.account_id)
      })

      it('lets exactly one of twenty concurrent creates of one name win; the rest get 409', async () => {
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => create('Race', `racer${i}@race.test`)))
        const statuses = replies.map((reply) => reply.status)
        expect(statuses.filter((status) => status === 201)).toHaveLength(1)
        expect(statuses.filter((status) => status === 409)).toHaveLength(19)
        const winner = replies.find((reply) => reply.status === 201)!
        for (const [i, reply] of replies.entries()) {
          if (reply === winner) continue
          expect(reply.body.code).toBe('ORGANIZATION_NAME_TAKEN')
          // The losers' admins were never left behind: their emails are free again.
          expect((await create(`Other ${i}`, `racer${i}@race.test`)).status).toBe(201)
        }
      })

      it('rejects a password longer than bcrypt’s 72 bytes instead of truncating it', async () => {
        // 36 two-byte characters: 36 characters, 72 bytes; one more is over the limit.
        expect((await create('Fits', 'fits@x.test', 'é'.repeat(36))).status).toBe(201)
        const reply = await create('Too long', 'long@x.test', 'é'.repeat(37))
        expectProblem(reply, 400, 'VALIDATION_FAILED')
        expect(reply.body.errors).toEqual([{ pointer: '#/password', detail: expect.stringMatching(/72 bytes/) }])
      })
    })

    describe('bad input', () => {
      const valid = { organization_name: 'Valid', email: 'v@valid.test', password: PASSWORD }
      const badBodies: [string, unknown][] = [
        ['an operator object where the name belongs', { ...valid, organization_name: { $gt: '' } }],
        ['an operator object where the email belongs', { ...valid, email: { $ne: null } }],
        ['an operator object where the password belongs', { ...valid, password: { $exists: true } }],
        ['a number where the name belongs', { ...valid, organization_name: 42 }],
        ['an array where the name belongs', { ...valid, organization_name: ['Valid'] }],
        ['an empty name', { ...valid, organization_name: '' }],
        ['a name of only spaces', { ...valid, organization_name: '   ' }],
        ['a name over 64 characters after trimming', { ...valid, organization_name: ` ${'n'.repeat(65)} ` }],
        ['a name with a control character', { ...valid, organization_name: 'Evil\u0000Corp' }],
        ['a name with a newline', { ...valid, organization_name: 'Evil\nCorp' }],
        ['a name with a lone surrogate', { ...valid, organization_name: 'Evil\ud800' }],
        ['an email that is not one', { ...valid, email: 'not-an-email' }],
        ['a password under 8 characters', { ...valid, password: 'short' }],
        ['a password with a NUL character', { ...valid, password: 'abcdefgh\u0000ijk' }],
        ['an unknown field', { ...valid, is_admin: true }],
        ['a missing field', { organization_name: 'Valid', email: 'v@valid.test' }],
        ['an array body', [valid]],
        ['a null body', null],
        ['a string body', 'Valid'],
      ]
      for (const [label, body] of badBodies) {
        it(`answers 400 to ${label} and creates nothing`, async () => {
          expectProblem(await send('POST', '/org/create', { json: body }), 400, 'VALIDATION_FAILED')
          expectProblem(await getOrg('Valid'), 404)
        })
      }

      it('accepts a name of exactly 64 characters after trimming', async () => {
        expect((await create(`  ${'n'.repeat(64)}  `, 'n@n.test')).status).toBe(201)
      })

      it('answers 400 to malformed JSON', async () => {
        expectProblem(
          await send('POST', '/org/create', {
            raw: '{"organization_name": "Valid",',
            headers: { 'content-type': 'application/json' },
          }),
          400,
          'MALFORMED_JSON',
        )
      })

      it('answers 400 to a body that is not UTF-8', async () => {
        expectProblem(
          await send('POST', '/org/create', {
            raw: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
            headers: { 'content-type': 'application/json' },
          }),
          400,
          'MALFORMED_JSON',
        )
      })

      it('answers 400 to an empty body', async () => {
        expectProblem(
          await send('POST', '/org/create', { headers: { 'content-type': 'application/json' } }),
          400,
          'VALIDATION_FAILED',
        )
      })

      it('answers 415 to a body that is not declared as JSON', async () => {
        expectProblem(
          await send('POST', '/org/create', { raw: JSON.stringify(valid), headers: { 'content-type': 'text/plain' } }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        )
        expectProblem(await getOrg('Valid'), 404)
      })

      it('answers 413 to a body over the size limit', async () => {
        const huge = { ...valid, organization_name: 'x'.repeat(20_000) }
        expectProblem(await send('POST', '/org/create', { json: huge }), 413, 'PAYLOAD_TOO_LARGE')
      })

      it('answers 413 to a chunked body that grows past the limit without declaring a length', async () => {
        const chunk = new TextEncoder().encode(' '.repeat(4096))
        let sent = 0
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent++ < 8) controller.enqueue(chunk)
            else controller.close()
          },
        })
        expectProblem(
          await send('POST', '/org/create', { raw: stream, headers: { 'content-type': 'application/json' } }),
          413,
          'PAYLOAD_TOO_LARGE',
        )
      })

      it('answers 400 to a deeply nested body', async () => {
        const nested = `{"organization_name":${'['.repeat(5000)}${']'.repeat(5000)}}`
        expectProblem(
          await send('POST', '/org/create', { raw: nested, headers: { 'content-type': 'application/json' } }),
          400,
        )
      })

      it('answers 400 to a lookup without a name or with the name twice', async () => {
        expectProblem(await send('GET', '/org/get'), 400, 'VALIDATION_FAILED')
        expectProblem(await send('GET', '/org/get?organization_name=a&organization_name=b'), 400, 'VALIDATION_FAILED')
      })

      it('answers 405 with Allow to a method the path does not take', async () => {
        const reply = await send('GET', '/org/create')
        expectProblem(reply, 405, 'METHOD_NOT_ALLOWED')
        expect(reply.headers.get('allow')).toBe('POST')
      })

      it('leaves paths that are not its own to the host', async () => {
        const reply = await fetch(`${server.url}/org/unknown`)
        expect(reply.status).toBe(404)
        expect(reply.headers.get('content-type') ?? '').not.toMatch(/problem\+json/)
      })
    })

    describe('fetching an organization', () => {
      it('finds it by name ignoring case and surrounding spaces', async () => {
        const created = (await create('Acme', 'a@acme.test')).body.organization
        const reply = await getOrg('  ACME ')
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({ organization: created })
      })

      it('answers 404 problem+json for an unknown name', async () => {
        expectProblem(await getOrg('Nobody'), 404, 'ORGANIZATION_NOT_FOUND')
      })
    })

    describe('logging in', () => {
      it('returns a Bearer access token with its lifetime', async () => {
        await create('Acme', 'a@acme.test')
        const reply = await send('POST', '/admin/login', { json: { email: ' A@acme.TEST ', password: PASSWORD } })
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({
          access_token: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
          token_type: 'Bearer',
          expires_in: 900,
          refresh_token: expect.stringMatching(/^rt_[\w-]{43}$/),
        })
        expect(reply.headers.get('cache-control')).toBe('no-store')
      })

      it('fails an unknown email exactly as it fails a wrong password', async () => {
        await create('Acme', 'a@acme.test')
        const wrongPassword = await send('POST', '/admin/login', {
          json: { email: 'a@acme.test', password: 'wrong password' },
        })
        const unknownEmail = await send('POST', '/admin/login', {
          json: { email: 'nobody@acme.test', password: PASSWORD },
        })
        expectProblem(wrongPassword, 401, 'INVALID_CREDENTIALS')
        expect(unknownEmail.status).toBe(wrongPassword.status)
        expect(unknownEmail.body).toEqual(wrongPassword.body)
      })

      it('answers 429 with Retry-After once an account has had ten attempts, even with the right password', async () => {
        await create('Acme', 'a@acme.test')
        await create('Globex', 'g@globex.test')
        for (let i = 0; i < 10; i++)
          expectProblem(
            await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: `guess number ${i}` } }),
            401,
          )
        const refused = await send('POST', '/admin/login', { json: { email: 'A@acme.test', password: PASSWORD } })
        expectProblem(refused, 429, 'TOO_MANY_REQUESTS')
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
        // Another account is not locked by it.
        expect(await login('g@globex.test')).toEqual(expect.any(String))
      })

      it('answers 429 to a client address that has tried too many accounts', async () => {
        const replies = []
        for (let i = 0; i < 101; i++)
          replies.push(
            (
              await send('POST', '/admin/login', {
                json: { email: `user${i}@spray.test`, password: 'password spraying' },
              })
            ).status,
          )
        expect(replies.slice(0, 100).every((status) => status === 401)).toBe(true)
        expect(replies[100]).toBe(429)
      })

      it('answers 400, not a login, to operator objects in the credentials', async () => {
        await create('Acme', 'a@acme.test')
        expectProblem(
          await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: { $ne: null } } }),
          400,
          'VALIDATION_FAILED',
        )
        expectProblem(
          await send('POST', '/admin/login', { json: { email: { $gt: '' }, password: PASSWORD } }),
          400,
          'VALIDATION_FAILED',
        )
      })
    })

    describe('tenant-scoped requests', () => {
      it('answers 401 with WWW-Authenticate when the token is missing or not a token', async () => {
        const missing = await send('GET', '/notes')
        expectProblem(missing, 401, 'TOKEN_MISSING')
        expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/)
        // RFC 6750 §3.1: no error code without credentials, invalid_request for a malformed header, invalid_token for a refused token.
        expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="tenantry"')
        for (const authorization of ['Bearer', 'Basic dXNlcjpwYXNz', 'Bearer a b']) {
          const reply = await send('GET', '/notes', { headers: { authorization } })
          expectProblem(reply, 401)
          expect(reply.headers.get('www-authenticate')).toBe(
            'Bearer realm="tenantry", error="invalid_request", error_description="the Authorization header must be Bearer <token>"',
          )
        }
        const refused = await send('GET', '/notes', { headers: { authorization: 'Bearer not.a.jwt' } })
        expect(refused.headers.get('www-authenticate')).toBe(
          `Bearer realm="tenantry", error="invalid_token", error_description="${refused.body.detail}"`,
        )
      })

      it('answers a missing permission with 403 and an insufficient_scope challenge', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        await tenancy.invitations
          .invite(await tenancy.authenticate(token), { email: 'm@acme.test', role: 'member' })
          .then(({ token: invitation }) => tenancy.invitations.accept({ token: invitation, password: PASSWORD }))
        const member = await login('m@acme.test')
        const reply = await send('GET', '/org/members', { token: member })
        expectProblem(reply, 403, 'PERMISSION_DENIED')
        expect(reply.headers.get('www-authenticate')).toMatch(
          /^Bearer realm="tenantry", error="insufficient_scope", error_description="[^"]+"$/,
        )
      })

      it('keeps each tenant to its own notes', async () => {
        const acme = await tenantWithToken('Acme', 'a@acme.test')
        const globex = await tenantWithToken('Globex', 'g@globex.test')
        expect((await send('POST', '/notes', { json: { text: 'acme secret' }, token: acme })).status).toBe(201)
        expect((await send('POST', '/notes', { json: { text: 'globex secret' }, token: globex })).status).toBe(201)
        expect((await send('GET', '/notes', { token: acme })).body.notes.map((n: { text: string }) => n.text)).toEqual([
          'acme secret',
        ])
        expect(
          (await send('GET', '/notes', { token: globex })).body.notes.map((n: { text: string }) => n.text),
        ).toEqual(['globex secret'])
      })

      it('refuses a token whose payload was edited to name another tenant', async () => {
        const acme = await tenantWithToken('Acme', 'a@acme.test')
        await tenantWithToken('Globex', 'g@globex.test')
        await send('POST', '/notes', { json: { text: 'globex secret' }, token: await login('g@globex.test') })
        const globexId = (await getOrg('Globex')).body.organization.id
        const [header, payload, signature] = acme.split('.')
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
        const forged = [
          header,
          Buffer.from(JSON.stringify({ ...claims, org: globexId })).toString('base64url'),
          signature,
        ].join('.')
        expectProblem(await send('GET', '/notes', { token: forged }), 401, 'TOKEN_INVALID')
      })
    })

    describe('sessions', () => {
      const loginTokens = async (email: string, password = PASSWORD) =>
        (await send('POST', '/admin/login', { json: { email, password } })).body
      const refresh = (refreshToken: string) =>
        send('POST', '/admin/refresh', { json: { refresh_token: refreshToken } })

      it('rotates a refresh token into a new pair that works', async () => {
        await create('Acme', 'a@acme.test')
        const first = await loginTokens('a@acme.test')
        const reply = await refresh(first.refresh_token)
        expect(reply.status).toBe(200)
        expect(reply.body.refresh_token).not.toBe(first.refresh_token)
        expect((await send('GET', '/notes', { token: reply.body.access_token })).status).toBe(200)
      })

      it('ends the whole session when a used refresh token comes back', async () => {
        await create('Acme', 'a@acme.test')
        const first = await loginTokens('a@acme.test')
        const second = (await refresh(first.refresh_token)).body
        expectProblem(await refresh(first.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
        expectProblem(await refresh(second.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
        expectProblem(await send('GET', '/notes', { token: second.access_token }), 401, 'TOKEN_INVALID')
      })

      it('lets only one of two concurrent refreshes with one token succeed', async () => {
        await create('Acme', 'a@acme.test')
        const { refresh_token } = await loginTokens('a@acme.test')
        const statuses = (await Promise.all([refresh(refresh_token), refresh(refresh_token)]))
          .map((reply) => reply.status)
          .sort()
        expect(statuses).toEqual([200, 401])
      })

      it('logs out: the access token is refused on its next request and the refresh token is dead, other sessions live on', async () => {
        await create('Acme', 'a@acme.test')
        const phone = await loginTokens('a@acme.test')
        const laptop = await loginTokens('a@acme.test')
        expect((await send('GET', '/notes', { token: phone.access_token })).status).toBe(200)
        const reply = await send('POST', '/admin/logout', { token: phone.access_token })
        expect(reply.status).toBe(204)
        // An empty answer declares no body type, on every adapter.
        expect(reply.headers.get('content-type')).toBeNull()
        expect(reply.headers.get('content-length') ?? '0').toBe('0')
        expectProblem(await send('GET', '/notes', { token: phone.access_token }), 401, 'TOKEN_INVALID')
        expectProblem(await refresh(phone.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
        expect((await send('GET', '/notes', { token: laptop.access_token })).status).toBe(200)
        expect((await refresh(laptop.refresh_token)).status).toBe(200)
      })

      it('logs out with the refresh token alone, as RFC 7009 revocation, even after the access token expired', async () => {
        await create('Acme', 'a@acme.test')
        const phone = await loginTokens('a@acme.test')
        const laptop = await loginTokens('a@acme.test')
        expect((await send('POST', '/admin/logout', { json: { refresh_token: phone.refresh_token } })).status).toBe(204)
        expectProblem(await send('GET', '/notes', { token: phone.access_token }), 401, 'TOKEN_INVALID')
        expectProblem(await refresh(phone.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
        expect((await send('GET', '/notes', { token: laptop.access_token })).status).toBe(200)
        // An unknown or already revoked token is still a success: there is nothing left to revoke.
        expect((await send('POST', '/admin/logout', { json: { refresh_token: phone.refresh_token } })).status).toBe(204)
        expect((await send('POST', '/admin/logout', { json: { refresh_token: 'rt_unknown' } })).status).toBe(204)
        // With a bearer token too, both sessions end.
        const tablet = await loginTokens('a@acme.test')
        expect(
          (
            await send('POST', '/admin/logout', {
              json: { refresh_token: laptop.refresh_token },
              token: tablet.access_token,
            })
          ).status,
        ).toBe(204)
        for (const session of [laptop, tablet])
          expectProblem(await send('GET', '/notes', { token: session.access_token }), 401, 'TOKEN_INVALID')
        expectProblem(await send('POST', '/admin/logout', {}), 401, 'TOKEN_MISSING')
        expectProblem(await send('POST', '/admin/logout', { json: { refresh_token: 42 } }), 400, 'VALIDATION_FAILED')
      })

      it('ends every session when the password changes', async () => {
        await create('Acme', 'a@acme.test')
        const other = await loginTokens('a@acme.test')
        const current = await loginTokens('a@acme.test')
        await send('PUT', '/org/update', {
          json: { organization_name: 'Acme', password: 'a brand new passphrase' },
          token: current.access_token,
        })
        for (const session of [other, current])
          expectProblem(await refresh(session.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
      })

      it('sets metadata for the organization’s members to see, never on the public lookup', async () => {
        await create('Acme', 'a@acme.test')
        const { access_token: token } = await loginTokens('a@acme.test')
        const reply = await send('PUT', '/org/update', { json: { metadata: { plan: 'pro' } }, token })
        expect(reply).toMatchObject({ status: 200, body: { organization: { metadata: { plan: 'pro' } } } })
        expect((await getOrg('Acme')).body.organization).not.toHaveProperty('metadata')
        expectProblem(await send('PUT', '/org/update', { json: { metadata: [1] }, token }), 400, 'VALIDATION_FAILED')
        expectProblem(
          await send('PUT', '/org/update', { json: { metadata: { $where: 'sleep(1)' } }, token }),
          400,
          'VALIDATION_FAILED',
        )
      })

      it('keeps the caller of a password change signed in with a fresh pair, and every other session ended', async () => {
        await create('Acme', 'a@acme.test')
        const other = await loginTokens('a@acme.test')
        const current = await loginTokens('a@acme.test')
        const reply = await send('PUT', '/org/update', {
          json: { password: 'a brand new passphrase' },
          token: current.access_token,
        })
        expect(reply.status).toBe(200)
        expect(reply.body.tokens).toMatchObject({ token_type: 'Bearer' })
        expect((await send('GET', '/notes', { token: reply.body.tokens.access_token })).status).toBe(200)
        expect((await refresh(reply.body.tokens.refresh_token)).status).toBe(200)
        for (const session of [other, current]) {
          expectProblem(await refresh(session.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
          expectProblem(await send('GET', '/notes', { token: session.access_token }), 401, 'TOKEN_INVALID')
        }
        const declined = await send('PUT', '/org/update', {
          json: { password: 'yet another passphrase', keep_current_session: false },
          token: reply.body.tokens.access_token,
        })
        expect(declined.status).toBe(200)
        expect(declined.body.tokens).toBeUndefined()
        expectProblem(await send('GET', '/notes', { token: reply.body.tokens.access_token }), 401, 'TOKEN_INVALID')
      })

      it('ends every session when the organization is deleted', async () => {
        await create('Acme', 'a@acme.test')
        const session = await loginTokens('a@acme.test')
        expect(
          (await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: session.access_token }))
            .status,
        ).toBe(204)
        expectProblem(await refresh(session.refresh_token), 401, 'REFRESH_TOKEN_INVALID')
      })

      it('never takes a refresh token for an access token, or the other way round', async () => {
        await create('Acme', 'a@acme.test')
        const session = await loginTokens('a@acme.test')
        expectProblem(await send('GET', '/notes', { token: session.refresh_token }), 401, 'TOKEN_INVALID')
        expectProblem(await refresh(session.access_token), 401, 'REFRESH_TOKEN_INVALID')
        expectProblem(await send('POST', '/admin/logout', { token: session.refresh_token }), 401, 'TOKEN_INVALID')
      })

      it('answers 400 to a refresh without a token or with an operator object', async () => {
        expectProblem(await send('POST', '/admin/refresh', { json: {} }), 400, 'VALIDATION_FAILED')
        expectProblem(
          await send('POST', '/admin/refresh', { json: { refresh_token: { $ne: null } } }),
          400,
          'VALIDATION_FAILED',
        )
      })
    })

    describe('the audit trail', () => {
      it('shows an organization its own events, newest first, and nothing secret', async () => {
        await create('Acme', 'a@acme.test')
        await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: 'not the password' } })
        const session = (await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: PASSWORD } }))
          .body
        await create('Globex', 'g@globex.test')
        await send('POST', '/admin/login', { json: { email: 'g@globex.test', password: PASSWORD } })
        const reply = await send('GET', '/org/audit', { token: session.access_token })
        expect(reply.status).toBe(200)
        expect(reply.body.events.map((event: { type: string }) => event.type)).toEqual([
          'login.succeeded',
          'login.failed',
          'organization.created',
        ])
        expect(reply.body.events[0]).toMatchObject({
          id: expect.any(String),
          account_id: expect.any(String),
          at: expect.any(String),
          details: {},
        })
        const text = JSON.stringify(reply.body)
        for (const secret of [PASSWORD, 'not the password', session.access_token, session.refresh_token, '$2b$'])
          expect(text).not.toContain(secret)
        expect(text).not.toContain('globex')
      })

      it('pages with next_cursor through every event exactly once, and answers 400 to a cursor it did not make', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        for (let i = 0; i < 4; i++) await login('a@acme.test')
        const all = (await send('GET', '/org/audit?limit=200', { token })).body
        expect(all.next_cursor).toBeNull()
        const paged: string[] = []
        let cursor: string | null = null
        do {
          const page: Reply = await send('GET', `/org/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token })
          expect(page.status).toBe(200)
          paged.push(...page.body.events.map((event: { id: string }) => event.id))
          cursor = page.body.next_cursor
        } while (cursor)
        expect(paged).toEqual(all.events.map((event: { id: string }) => event.id))
        for (const bad of [
          'nonsense',
          Buffer.from('[1,2]').toString('base64url'),
          Buffer.from('{"$gt":""}').toString('base64url'),
        ]) {
          expectProblem(await send('GET', `/org/audit?cursor=${bad}`, { token }), 400, 'VALIDATION_FAILED')
        }
      })

      it('pages with limit and before, and answers 400 to bad ones and 401 without a token', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        const all = (await send('GET', '/org/audit', { token })).body.events
        expect(all.length).toBeGreaterThanOrEqual(2)
        expect((await send('GET', '/org/audit?limit=1', { token })).body.events).toEqual([all[0]])
        const older = (await send('GET', `/org/audit?before=${encodeURIComponent(all[0].at)}`, { token })).body.events
        expect(older.every((event: { at: string }) => event.at < all[0].at)).toBe(true)
        for (const query of [
          'limit=0',
          'limit=201',
          'limit=abc',
          'before=yesterday',
          'limit=1&limit=2',
          'organization_id=other',
        ]) {
          expectProblem(await send('GET', `/org/audit?${query}`, { token }), 400, 'VALIDATION_FAILED')
        }
        expectProblem(await send('GET', '/org/audit'), 401, 'TOKEN_MISSING')
      })
    })

    describe('updating an organization', () => {
      it('renames it and keeps every note where it was', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        await send('POST', '/notes', { json: { text: 'kept' }, token })
        const reply = await send('PUT', '/org/update', { json: { organization_name: 'Acme Renamed' }, token })
        expect(reply.status).toBe(200)
        expect(reply.body.organization.name).toBe('Acme Renamed')
        expect(Date.parse(reply.body.organization.updated_at)).toBeGreaterThanOrEqual(
          Date.parse(reply.body.organization.created_at),
        )
        expect((await send('GET', '/notes', { token })).body.notes.map((n: { text: string }) => n.text)).toEqual([
          'kept',
        ])
        expectProblem(await getOrg('Acme'), 404)
        expect((await getOrg('acme renamed')).status).toBe(200)
        // The old name is free again.
        expect((await create('Acme', 'new@acme.test')).status).toBe(201)
      })

      it('refuses a rename to a name another organization holds, and changes nothing', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        await create('Globex', 'g@globex.test')
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: 'GLOBEX', email: 'new@acme.test' }, token }),
          409,
          'ORGANIZATION_NAME_TAKEN',
        )
        expect((await getOrg('Acme')).status).toBe(200)
        expect(await login('a@acme.test')).toEqual(expect.any(String))
      })

      it('refuses an email another admin holds, and changes nothing', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        await create('Globex', 'g@globex.test')
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: 'Acme New', email: 'g@globex.test' }, token }),
          409,
          'ADMIN_EMAIL_TAKEN',
        )
        expect((await getOrg('Acme')).status).toBe(200)
        expectProblem(await getOrg('Acme New'), 404)
      })

      it('changes the admin’s email: the new one logs in, the old one does not', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        expect(
          (await send('PUT', '/org/update', { json: { organization_name: 'Acme', email: 'boss@acme.test' }, token }))
            .status,
        ).toBe(200)
        expect(await login('boss@acme.test')).toEqual(expect.any(String))
        expectProblem(
          await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: PASSWORD } }),
          401,
          'INVALID_CREDENTIALS',
        )
      })

      it('changes the password and revokes every token issued before', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        const newPassword = 'a much better passphrase'
        expect(
          (await send('PUT', '/org/update', { json: { organization_name: 'Acme', password: newPassword }, token }))
            .status,
        ).toBe(200)
        expectProblem(await send('GET', '/notes', { token }), 401, 'TOKEN_INVALID')
        expectProblem(await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: PASSWORD } }), 401)
        const fresh = await login('a@acme.test', newPassword)
        expect((await send('GET', '/notes', { token: fresh })).status).toBe(200)
      })

      it('answers 401 without a token and 400 to bad fields', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: 'Hijacked' } }),
          401,
          'TOKEN_MISSING',
        )
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: { $ne: null } }, token }),
          400,
          'VALIDATION_FAILED',
        )
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: 'Acme', password: 'p'.repeat(73) }, token }),
          400,
          'VALIDATION_FAILED',
        )
        const empty = await send('PUT', '/org/update', { json: {}, token })
        expectProblem(empty, 400, 'VALIDATION_FAILED')
        expect(empty.body.detail).toContain('at least one of organization_name, slug, email, password or metadata')
        expect((await getOrg('Acme')).status).toBe(200)
      })

      it('changes the password alone, without resending the organization’s name', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        const reply = await send('PUT', '/org/update', { json: { password: 'only the password changes' }, token })
        expect(reply.status).toBe(200)
        expect(reply.body.organization.name).toBe('Acme')
        expect(await login('a@acme.test', 'only the password changes')).toEqual(expect.any(String))
      })
    })

    describe('deleting an organization', () => {
      it('refuses to delete another tenant’s organization', async () => {
        const acme = await tenantWithToken('Acme', 'a@acme.test')
        const globex = await tenantWithToken('Globex', 'g@globex.test')
        await send('POST', '/notes', { json: { text: 'globex data' }, token: globex })
        expectProblem(
          await send('DELETE', '/org/delete', { json: { organization_name: 'Globex' }, token: acme }),
          403,
          'NOT_ORGANIZATION_ADMIN',
        )
        expect((await getOrg('Globex')).status).toBe(200)
        expect((await send('GET', '/notes', { token: globex })).body.notes).toHaveLength(1)
      })

      it('deletes its own organization; its tokens stop at once and the name starts empty when re-created', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        await send('POST', '/notes', { json: { text: 'doomed' }, token })
        const reply = await send('DELETE', '/org/delete', { json: { organization_name: 'acme' }, token })
        expect(reply.status).toBe(204)
        expect(reply.body).toBeUndefined()
        expectProblem(await send('GET', '/notes', { token }), 401, 'TOKEN_INVALID')
        expectProblem(await getOrg('Acme'), 404)
        expectProblem(await send('POST', '/admin/login', { json: { email: 'a@acme.test', password: PASSWORD } }), 401)
        const again = await tenantWithToken('Acme', 'a@acme.test')
        expect((await send('GET', '/notes', { token: again })).body.notes).toEqual([])
        expectProblem(await send('GET', '/notes', { token }), 401, 'TOKEN_INVALID')
      })

      it('answers 404 for a name no organization has, and 401 without a token', async () => {
        const token = await tenantWithToken('Acme', 'a@acme.test')
        expectProblem(
          await send('DELETE', '/org/delete', { json: { organization_name: 'Nobody' }, token }),
          404,
          'ORGANIZATION_NOT_FOUND',
        )
        expectProblem(
          await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' } }),
          401,
          'TOKEN_MISSING',
        )
        expect((await getOrg('Acme')).status).toBe(200)
      })
    })
  })
}
