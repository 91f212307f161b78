import { z } from 'zod'
import * as fields from '../lib/fields.js'
import type { Invitation } from '../members/invitations.js'
import type { Member } from '../control/organization-types.js'
import type { Tenancy } from '../tenancy.js'
import { noQuery, route, tokensJson, type OrgRoute } from './route-table.js'

const roleField = z.string().min(1).max(32)
const inviteBody = z.strictObject({ email: fields.email, role: roleField })
const acceptBody = z.strictObject({ token: z.string().min(1).max(200), password: z.string().max(1024) })
const acceptAsHostUserBody = z.strictObject({ token: z.string().min(1).max(200) })
const roleBody = z.strictObject({ role: roleField })
const transferBody = z.strictObject({ member_id: z.string().min(1).max(200) })
const noBody = z.strictObject({}).optional()

export function memberJson(member: Member) {
  return {
    id: member.id,
    account_id: member.accountId,
    email: member.email,
    role: member.role,
    created_at: member.createdAt.toISOString(),
  }
}

function invitationJson(invitation: Invitation) {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    expires_at: invitation.expiresAt.toISOString(),
    created_at: invitation.createdAt.toISOString(),
  }
}

/** Members, ownership and invitations: the rules live in `MemberService` and `Invitations`; these only carry them over HTTP. */
export function memberRoutes(tenancy: Tenancy, identify: boolean): OrgRoute[] {
  return [
    route({
      method: 'GET',
      path: '/org/members',
      input: 'query',
      schema: noQuery,
      authenticated: true,
      async handle(_input, tenant) {
        return { status: 200, body: { members: (await tenancy.members.list(tenant!)).map(memberJson) } }
      },
    }),
    route({
      method: 'PATCH',
      path: '/org/members/{id}',
      input: 'body',
      schema: roleBody,
      authenticated: true,
      async handle(input, tenant, request) {
        return {
          status: 200,
          body: { member: memberJson(await tenancy.members.changeRole(tenant!, request.params.id!, input.role)) },
        }
      },
    }),
    route({
      method: 'DELETE',
      path: '/org/members/{id}',
      input: 'body',
      schema: noBody,
      authenticated: true,
      async handle(_input, tenant, request) {
        await tenancy.members.remove(tenant!, request.params.id!)
        return { status: 204 }
      },
    }),
    route({
      method: 'POST',
      path: '/org/leave',
      input: 'body',
      schema: noBody,
      authenticated: true,
      async handle(_input, tenant) {
        await tenancy.members.leave(tenant!)
        return { status: 204 }
      },
    }),
    route({
      method: 'POST',
      path: '/org/transfer-ownership',
      input: 'body',
      schema: transferBody,
      authenticated: true,
      async handle(input, tenant) {
        return {
          status: 200,
          body: { owner: memberJson(await tenancy.members.transferOwnership(tenant!, input.member_id)) },
        }
      },
    }),
    route({
      method: 'POST',
      path: '/org/invitations',
      input: 'body',
      schema: inviteBody,
      authenticated: true,
      async handle(input, tenant) {
        const { invitation, token } = await tenancy.invitations.invite(tenant!, input)
        return { status: 201, body: { invitation: invitationJson(invitation), token } }
      },
    }),
    route({
      method: 'GET',
      path: '/org/invitations',
      input: 'query',
      schema: noQuery,
      authenticated: true,
      async handle(_input, tenant) {
        return { status: 200, body: { invitations: (await tenancy.invitations.list(tenant!)).map(invitationJson) } }
      },
    }),
    route({
      method: 'DELETE',
      path: '/org/invitations/{id}',
      input: 'body',
      schema: noBody,
      authenticated: true,
      async handle(_input, tenant, request) {
        await tenancy.invitations.cancel(tenant!, request.params.id!)
        return { status: 204 }
      },
    }),
    identify ? acceptAsHostUser(tenancy) : acceptWithPassword(tenancy),
  ]
}

/** `POST /org/invitations/accept` with a password: the invitation's email's account, or a new one; answers tokens. */
function acceptWithPassword(tenancy: Tenancy): OrgRoute {
  return route({
    method: 'POST',
    path: '/org/invitations/accept',
    input: 'body',
    schema: acceptBody,
    authenticated: false,
    async handle(input, _tenant, request) {
      const { tokens } = await tenancy.invitations.accept(input, { clientAddress: request.clientAddress })
      return { status: 200, body: tokensJson(tokens) }
    },
  })
}

/** `POST /org/invitations/accept` under `identify`: the signed-in host user joins; answers the membership. */
function acceptAsHostUser(tenancy: Tenancy): OrgRoute {
  return route({
    method: 'POST',
    path: '/org/invitations/accept',
    input: 'body',
    schema: acceptAsHostUserBody,
    authenticated: 'identity',
    docsKey: 'POST /org/invitations/accept as host user',
    async handle(input, _tenant, request) {
      const { subject, email } = request.identity!
      const { member } = await tenancy.invitations.accept(
        { token: input.token, subject, ...(email === undefined ? {} : { email }) },
        { clientAddress: request.clientAddress },
      )
      return { status: 200, body: { member: memberJson(member) } }
    },
  })
}
