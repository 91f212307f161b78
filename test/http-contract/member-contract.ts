import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, type Invitation, type Tenancy } from 'tenantry'
import type { OpenApiDocument } from 'tenantry/http'
import { openApiValidator } from '../support/openapi-validator.js'
import { exampleRoles } from '../../examples/example-setup.js'
import { addMember, claimsOf, type MemberReply } from '../support/members.js'
import { MEMORY } from './contract-store.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import type { AppFactory } from './http-contract.js'

/**
 * The member, role and invitation routes, run unchanged against every adapter through the
 * example host apps, whose `/notes` needs `notes:read` to read and `notes:write` to write.
 */
export function describeMemberContract(framework: string, createApp: AppFactory, store = MEMORY): void {
  describe(`the member routes on ${framework}, ${store.name}`, () => {
    let server: RunningServer
    let tenancy: Tenancy
    let sent: { invitation: Invitation; token: string }[]
    let document: ReturnType<typeof openApiValidator>

    beforeEach(async () => {
      sent = []
      tenancy = createTenancy({
        auth: TEST_AUTH,
        baseDomain: 'example.test',
        store: await store.create(),
        roles: exampleRoles,
        invitations: { onInvitation: (invitation, token) => void sent.push({ invitation, token }) },
      })
      server = await startServer(createApp(tenancy))
      document = openApiValidator((await (await fetch(`${server.url}/openapi.json`)).json()) as OpenApiDocument)
    })
    afterEach(async () => {
      vi.useRealTimers()
      await server?.close()
    })

    async function send(
      method: string,
      path: string,
      options: { json?: unknown; token?: string } = {},
    ): Promise<MemberReply> {
      const headers: Record<string, string> = {}
      if (options.json !== undefined) headers['content-type'] = 'application/json'
      if (options.token) headers.authorization = `Bearer ${options.token}`
      const response = await fetch(server.url + path, {
        method,
        headers,
        body: options.json === undefined ? undefined : JSON.stringify(options.json),
      })
      const text = await response.text()
      const body = text === '' ? undefined : JSON.parse(text)
      const mismatch = document.check(method, path, response.status, response.headers, body)
      if (mismatch) throw new Error(`not as /openapi.json documents: ${mismatch}`)
      return { status: response.status, body }
    }

    function expectProblem(reply: MemberReply, status: number, code: string): void {
      expect(reply.status, JSON.stringify(reply.body)).toBe(status)
      expect(reply.body).toMatchObject({ status, code })
    }

    async function owner(name = 'Acme', email = 'owner@acme.test') {
      expect(
        (await send('POST', '/org/create', { json: { organization_name: name, email, password: PASSWORD } })).status,
      ).toBe(201)
      const login = await send('POST', '/admin/login', { json: { email, password: PASSWORD, organization_name: name } })
      return {
        accessToken: login.body.access_token as string,
        refreshToken: login.body.refresh_token as string,
        memberId: claimsOf(login.body.access_token).mid,
      }
    }

    describe('members', () => {
      it('lists the members with their roles, the owner among them, and nothing secret', async () => {
        const acme = await owner()
        const editor = await addMember(send, acme.accessToken, 'ed@acme.test', 'editor')
        const reply = await send('GET', '/org/members', { token: acme.accessToken })
        expect(reply.status).toBe(200)
        expect(reply.body.members).toHaveLength(2)
        expect(reply.body.members).toEqual(
          expect.arrayContaining([
            {
              id: acme.memberId,
              account_id: expect.any(String),
              email: 'owner@acme.test',
              role: 'owner',
              created_at: expect.any(String),
            },
            {
              id: editor.memberId,
              account_id: expect.any(String),
              email: 'ed@acme.test',
              role: 'editor',
              created_at: expect.any(String),
            },
          ]),
        )
        expect(JSON.stringify(reply.body)).not.toMatch(/\$2[aby]\$|password/)
      })

      it('answers 403 PERMISSION_DENIED to a member whose role lacks the permission', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        expectProblem(await send('GET', '/org/members', { token: member.accessToken }), 403, 'PERMISSION_DENIED')
        expectProblem(await send('GET', '/org/audit', { token: member.accessToken }), 403, 'PERMISSION_DENIED')
        expectProblem(
          await send('POST', '/org/domains', { json: { domain: 'shop.acme.com' }, token: member.accessToken }),
          403,
          'PERMISSION_DENIED',
        )
      })

      it('guards a host route by a custom permission: members read notes, only editors and above write them', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        const editor = await addMember(send, acme.accessToken, 'ed@acme.test', 'editor')
        expect(
          (await send('POST', '/notes', { json: { text: 'by the editor' }, token: editor.accessToken })).status,
        ).toBe(201)
        expectProblem(
          await send('POST', '/notes', { json: { text: 'by a member' }, token: member.accessToken }),
          403,
          'PERMISSION_DENIED',
        )
        expect(
          (await send('GET', '/notes', { token: member.accessToken })).body.notes.map(
            (note: { text: string }) => note.text,
          ),
        ).toEqual(['by the editor'])
        expect(tenancy.members.can(await tenancy.authenticate(editor.accessToken), 'notes:write')).toBe(true)
        expect(tenancy.members.can(await tenancy.authenticate(member.accessToken), 'notes:write')).toBe(false)
      })

      it('changes a role with PATCH /org/members/{id}: the old token stops at once, a new login carries the new role', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        const reply = await send('PATCH', `/org/members/${member.memberId}`, {
          json: { role: 'editor' },
          token: acme.accessToken,
        })
        expect(reply.status).toBe(200)
        expect(reply.body.member).toMatchObject({ id: member.memberId, role: 'editor' })
        expectProblem(await send('GET', '/notes', { token: member.accessToken }), 401, 'TOKEN_INVALID')
        const again = await send('POST', '/admin/login', { json: { email: 'm@acme.test', password: PASSWORD } })
        expect(claimsOf(again.body.access_token).role).toBe('editor')
        expect(
          (await send('POST', '/notes', { json: { text: 'now I write' }, token: again.body.access_token })).status,
        ).toBe(201)
      })

      it('refuses an unknown role or the owner role with 400, and a malformed body with 400', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        for (const role of ['owner', 'superuser', ''])
          expectProblem(
            await send('PATCH', `/org/members/${member.memberId}`, { json: { role }, token: acme.accessToken }),
            400,
            'VALIDATION_FAILED',
          )
        expectProblem(
          await send('PATCH', `/org/members/${member.memberId}`, {
            json: { role: 'admin', extra: 1 },
            token: acme.accessToken,
          }),
          400,
          'VALIDATION_FAILED',
        )
        expectProblem(
          await send('PATCH', '/org/members/no-such-member', { json: { role: 'admin' }, token: acme.accessToken }),
          404,
          'MEMBER_NOT_FOUND',
        )
      })

      it('removes a member with DELETE /org/members/{id}: their access and refresh tokens stop at once', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        expect((await send('DELETE', `/org/members/${member.memberId}`, { token: acme.accessToken })).status).toBe(204)
        expectProblem(await send('GET', '/notes', { token: member.accessToken }), 401, 'TOKEN_INVALID')
        expectProblem(
          await send('POST', '/admin/refresh', { json: { refresh_token: member.refreshToken } }),
          401,
          'REFRESH_TOKEN_INVALID',
        )
        expectProblem(
          await send('DELETE', `/org/members/${member.memberId}`, { token: acme.accessToken }),
          404,
          'MEMBER_NOT_FOUND',
        )
        expect((await send('GET', '/org/members', { token: acme.accessToken })).body.members).toHaveLength(1)
      })

      it('lets a member leave with POST /org/leave, but not the owner', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        expect((await send('POST', '/org/leave', { token: member.accessToken })).status).toBe(204)
        expectProblem(await send('GET', '/notes', { token: member.accessToken }), 401, 'TOKEN_INVALID')
        expectProblem(await send('POST', '/org/leave', { token: acme.accessToken }), 403, 'PERMISSION_DENIED')
      })

      it('transfers ownership with POST /org/transfer-ownership: one owner after, the former one an admin, both old tokens stopped', async () => {
        const acme = await owner()
        const admin = await addMember(send, acme.accessToken, 'ad@acme.test', 'admin')
        const reply = await send('POST', '/org/transfer-ownership', {
          json: { member_id: admin.memberId },
          token: acme.accessToken,
        })
        expect(reply.status).toBe(200)
        expect(reply.body.owner).toMatchObject({ id: admin.memberId, role: 'owner' })
        for (const token of [acme.accessToken, admin.accessToken])
          expectProblem(await send('GET', '/notes', { token }), 401, 'TOKEN_INVALID')
        const newOwner = (await send('POST', '/admin/login', { json: { email: 'ad@acme.test', password: PASSWORD } }))
          .body.access_token
        const roles = (await send('GET', '/org/members', { token: newOwner })).body.members
          .map((member: { role: string }) => member.role)
          .sort()
        expect(roles).toEqual(['admin', 'owner'])
        expectProblem(await send('POST', '/org/transfer-ownership', { json: { member_id: 'x' } }), 401, 'TOKEN_MISSING')
      })

      it('lets only the owner delete the organization', async () => {
        const acme = await owner()
        const admin = await addMember(send, acme.accessToken, 'ad@acme.test', 'admin')
        expectProblem(
          await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: admin.accessToken }),
          403,
          'PERMISSION_DENIED',
        )
        expect(
          (await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: acme.accessToken }))
            .status,
        ).toBe(204)
      })

      it('lets any member change their own password, but only org:update rename', async () => {
        const acme = await owner()
        const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
        expectProblem(
          await send('PUT', '/org/update', { json: { organization_name: 'Renamed' }, token: member.accessToken }),
          403,
          'PERMISSION_DENIED',
        )
        expect(
          (
            await send('PUT', '/org/update', {
              json: { organization_name: 'Acme', password: 'a brand new passphrase' },
              token: member.accessToken,
            })
          ).status,
        ).toBe(200)
        expect(
          (await send('POST', '/admin/login', { json: { email: 'm@acme.test', password: 'a brand new passphrase' } }))
            .status,
        ).toBe(200)
        expect(
          (await send('PUT', '/org/update', { json: { organization_name: 'Renamed' }, token: acme.accessToken }))
            .status,
        ).toBe(200)
      })
    })

    describe('invitations', () => {
      it('answers 201 with the invitation and its token once, hands the same token to onInvitation, and lists it without the token', async () => {
        const acme = await owner()
        const reply = await send('POST', '/org/invitations', {
          json: { email: 'New@Acme.test', role: 'editor' },
          token: acme.accessToken,
        })
        expect(reply.status).toBe(201)
        expect(reply.body).toEqual({
          invitation: {
            id: expect.any(String),
            email: 'new@acme.test',
            role: 'editor',
            expires_at: expect.any(String),
            created_at: expect.any(String),
          },
          token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        })
        // Seven days by default.
        expect(Date.parse(reply.body.invitation.expires_at) - Date.parse(reply.body.invitation.created_at)).toBe(
          7 * 24 * 3600 * 1000,
        )
        expect(sent).toEqual([
          {
            invitation: expect.objectContaining({ id: reply.body.invitation.id, email: 'new@acme.test' }),
            token: reply.body.token,
          },
        ])
        const listed = await send('GET', '/org/invitations', { token: acme.accessToken })
        expect(listed.body.invitations).toEqual([reply.body.invitation])
        expect(JSON.stringify(listed.body)).not.toContain(reply.body.token)
        const organizationId = claimsOf(acme.accessToken).org
        expect(JSON.stringify(await tenancy.admin.listAuditEvents(organizationId, { limit: 50 }))).not.toContain(
          reply.body.token,
        )
      })

      it('creates the account of a new email on accept, and answers with a token pair for the organization', async () => {
        const acme = await owner()
        const { token } = (
          await send('POST', '/org/invitations', {
            json: { email: 'new@acme.test', role: 'member' },
            token: acme.accessToken,
          })
        ).body
        const reply = await send('POST', '/org/invitations/accept', {
          json: { token, password: 'the new member password' },
        })
        expect(reply.status).toBe(200)
        expect(reply.body).toEqual({
          access_token: expect.any(String),
          token_type: 'Bearer',
          expires_in: expect.any(Number),
          refresh_token: expect.any(String),
        })
        expect(claimsOf(reply.body.access_token)).toMatchObject({ org: claimsOf(acme.accessToken).org, role: 'member' })
        expect(
          (
            await send('POST', '/admin/login', {
              json: { email: 'new@acme.test', password: 'the new member password' },
            })
          ).status,
        ).toBe(200)
      })

      it('lets an existing account accept only with its own password, leaving the invitation pending after a wrong one', async () => {
        await owner('Globex', 'person@x.test')
        const acme = await owner()
        const { token } = (
          await send('POST', '/org/invitations', {
            json: { email: 'person@x.test', role: 'member' },
            token: acme.accessToken,
          })
        ).body
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token, password: 'not their password' } }),
          401,
          'INVITATION_INVALID',
        )
        expect((await send('GET', '/org/invitations', { token: acme.accessToken })).body.invitations).toHaveLength(1)
        expect((await send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } })).status).toBe(
          200,
        )
        // One account, two organizations: a login must now say which.
        const ambiguous = await send('POST', '/admin/login', { json: { email: 'person@x.test', password: PASSWORD } })
        expectProblem(ambiguous, 400, 'ORGANIZATION_REQUIRED')
        expect(ambiguous.body.organizations.map((org: { name: string }) => org.name).sort()).toEqual(['Acme', 'Globex'])
      })

      it('is single use: a second accept is 401 and changes nothing', async () => {
        const acme = await owner()
        const { token } = (
          await send('POST', '/org/invitations', {
            json: { email: 'new@acme.test', role: 'member' },
            token: acme.accessToken,
          })
        ).body
        expect((await send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } })).status).toBe(
          200,
        )
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token, password: PASSWORD } }),
          401,
          'INVITATION_INVALID',
        )
        expect((await send('GET', '/org/members', { token: acme.accessToken })).body.members).toHaveLength(2)
      })

      it('refuses an expired invitation (7 days), a cancelled one and one whose organization was deleted, all with 401', async () => {
        const acme = await owner()
        const invite = async (email: string) =>
          (await send('POST', '/org/invitations', { json: { email, role: 'member' }, token: acme.accessToken })).body
        const cancelled = await invite('c@acme.test')
        expect(
          (await send('DELETE', `/org/invitations/${cancelled.invitation.id}`, { token: acme.accessToken })).status,
        ).toBe(204)
        expectProblem(
          await send('DELETE', `/org/invitations/${cancelled.invitation.id}`, { token: acme.accessToken }),
          404,
          'INVITATION_NOT_FOUND',
        )
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token: cancelled.token, password: PASSWORD } }),
          401,
          'INVITATION_INVALID',
        )
        const expired = await invite('e@acme.test')
        vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 7 * 24 * 3600 * 1000 + 1000 })
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token: expired.token, password: PASSWORD } }),
          401,
          'INVITATION_INVALID',
        )
        vi.useRealTimers()
        const orphaned = await invite('o@acme.test')
        expect(
          (await send('DELETE', '/org/delete', { json: { organization_name: 'Acme' }, token: acme.accessToken }))
            .status,
        ).toBe(204)
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token: orphaned.token, password: PASSWORD } }),
          401,
          'INVITATION_INVALID',
        )
      })

      it('replaces the pending invitation of an email invited again, and refuses to invite a member with 409', async () => {
        const acme = await owner()
        const first = (
          await send('POST', '/org/invitations', {
            json: { email: 'new@acme.test', role: 'member' },
            token: acme.accessToken,
          })
        ).body
        const second = (
          await send('POST', '/org/invitations', {
            json: { email: 'new@acme.test', role: 'editor' },
            token: acme.accessToken,
          })
        ).body
        expect((await send('GET', '/org/invitations', { token: acme.accessToken })).body.invitations).toEqual([
          second.invitation,
        ])
        expectProblem(
          await send('POST', '/org/invitations/accept', { json: { token: first.token, password: PASSWORD } }),
          401,
          'INVITATION_INVALID',
        )
        expect(
          (await send('POST', '/org/invitations/accept', { json: { token: second.token, password: PASSWORD } })).status,
        ).toBe(200)
        expectProblem(
          await send('POST', '/org/invitations', {
            json: { email: 'new@acme.test', role: 'member' },
            token: acme.accessToken,
          }),
          409,
          'ALREADY_A_MEMBER',
        )
        expectProblem(
          await send('POST', '/org/invitations', {
            json: { email: 'owner@acme.test', role: 'member' },
            token: acme.accessToken,
          }),
          409,
          'ALREADY_A_MEMBER',
        )
      })

      it('validates every invitation body with 400', async () => {
        const acme = await owner()
        for (const json of [
          {},
          { email: 'not an email', role: 'member' },
          { email: 'a@b.test' },
          { email: 'a@b.test', role: 'member', admin: true },
          { email: { $ne: null }, role: 'member' },
        ]) {
          expectProblem(
            await send('POST', '/org/invitations', { json, token: acme.accessToken }),
            400,
            'VALIDATION_FAILED',
          )
        }
        for (const json of [
          {},
          { token: 'x' },
          { token: 1, password: PASSWORD },
          { token: 'x', password: PASSWORD, role: 'owner' },
        ]) {
          expectProblem(await send('POST', '/org/invitations/accept', { json }), 400, 'VALIDATION_FAILED')
        }
      })
    })

    describe('logging in with several organizations', () => {
      async function personInTwo() {
        await owner('Acme', 'person@x.test')
        await owner('Globex', 'person@x.test')
      }

      it('asks which organization only after the password is right, and names them then', async () => {
        await personInTwo()
        const wrong = await send('POST', '/admin/login', {
          json: { email: 'person@x.test', password: 'wrong password' },
        })
        expectProblem(wrong, 401, 'INVALID_CREDENTIALS')
        expect(JSON.stringify(wrong.body)).not.toMatch(/Acme|Globex/)
        const ambiguous = await send('POST', '/admin/login', { json: { email: 'person@x.test', password: PASSWORD } })
        expectProblem(ambiguous, 400, 'ORGANIZATION_REQUIRED')
        expect(ambiguous.body.organizations).toEqual(
          expect.arrayContaining([
            { name: 'Acme', slug: 'acme' },
            { name: 'Globex', slug: 'globex' },
          ]),
        )
        const chosen = await send('POST', '/admin/login', {
          json: { email: 'person@x.test', password: PASSWORD, organization_name: 'globex' },
        })
        expect(chosen.status).toBe(200)
        expect((await send('GET', '/org/members', { token: chosen.body.access_token })).body.members[0].role).toBe(
          'owner',
        )
        expectProblem(
          await send('POST', '/admin/login', {
            json: { email: 'person@x.test', password: PASSWORD, organization_name: 'Initech' },
          }),
          404,
          'ORGANIZATION_NOT_FOUND',
        )
      })

      it('switches to another of the account’s organizations with POST /admin/switch, and answers 404 for any other', async () => {
        await personInTwo()
        await owner('Initech', 'someone@else.test')
        const acme = (
          await send('POST', '/admin/login', {
            json: { email: 'person@x.test', password: PASSWORD, organization_name: 'Acme' },
          })
        ).body.access_token
        const switched = await send('POST', '/admin/switch', { json: { organization_name: 'Globex' }, token: acme })
        expect(switched.status).toBe(200)
        const globexId = (await send('GET', '/org/get?organization_name=Globex')).body.organization.id
        expect(claimsOf(switched.body.access_token).org).toBe(globexId)
        const notMine = await send('POST', '/admin/switch', { json: { organization_name: 'Initech' }, token: acme })
        const missing = await send('POST', '/admin/switch', { json: { organization_name: 'Nowhere' }, token: acme })
        expectProblem(notMine, 404, 'ORGANIZATION_NOT_FOUND')
        expect({ ...notMine.body, detail: undefined }).toEqual({ ...missing.body, detail: undefined })
        expect(notMine.body.detail).toBe(missing.body.detail)
      })
    })

    it('records every member change in the audit trail, without tokens or hashes', async () => {
      const acme = await owner()
      const member = await addMember(send, acme.accessToken, 'm@acme.test', 'member')
      const cancelled = (
        await send('POST', '/org/invitations', {
          json: { email: 'c@acme.test', role: 'member' },
          token: acme.accessToken,
        })
      ).body
      await send('DELETE', `/org/invitations/${cancelled.invitation.id}`, { token: acme.accessToken })
      await send('PATCH', `/org/members/${member.memberId}`, { json: { role: 'admin' }, token: acme.accessToken })
      await send('POST', '/org/transfer-ownership', { json: { member_id: member.memberId }, token: acme.accessToken })
      const newOwner = (await send('POST', '/admin/login', { json: { email: 'm@acme.test', password: PASSWORD } })).body
        .access_token
      const formerOwner = (
        await send('POST', '/admin/login', { json: { email: 'owner@acme.test', password: PASSWORD } })
      ).body.access_token
      await send('POST', '/org/leave', { token: formerOwner })
      const events = (await send('GET', '/org/audit?limit=200', { token: newOwner })).body.events
      const types = events.map((event: { type: string }) => event.type)
      for (const type of [
        'member.invited',
        'invitation.accepted',
        'invitation.cancelled',
        'member.role_changed',
        'ownership.transferred',
        'member.left',
      ])
        expect(types).toContain(type)
      const text = JSON.stringify(events)
      for (const secret of [cancelled.token, member.accessToken, '$2b$', PASSWORD]) expect(text).not.toContain(secret)
    })
  })
}
