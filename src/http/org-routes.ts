import { z } from 'zod'
import { OrganizationNotFoundError, TokenMissingError } from '../errors.js'
import * as fields from '../lib/fields.js'
import type { OrganizationDomain } from '../control/organization-domains.js'
import type { Member, Organization } from '../control/organization-types.js'
import { slug } from '../control/slug.js'
import { toOrganization } from '../control/organization-fields.js'
import { organizationNameKey } from '../lib/organization-name.js'
import type { Tenancy } from '../tenancy.js'
import { internalsOf } from '../tenancy-internals.js'
import { memberJson, memberRoutes } from './member-routes.js'
import { noQuery, route, tokensJson, type OrgRoute } from './route-table.js'

// The wire format is the original service's: snake_case fields, these exact paths. Objects are
// strict so a misspelt field is an error rather than silently ignored; string schemas reject
// operator objects such as {"$gt": ""} before they can reach a store.
const createBody = z.strictObject({
  organization_name: fields.organizationName,
  email: fields.email,
  password: fields.password,
  slug: slug.optional(),
})
const createAsHostUserBody = z.strictObject({ organization_name: fields.organizationName, slug: slug.optional() })
const getQuery = z
  .strictObject({ organization_name: fields.organizationName.optional(), slug: slug.optional() })
  .refine((query) => (query.organization_name === undefined) !== (query.slug === undefined), {
    message: 'give organization_name or slug, not both',
  })
const loginBody = z.strictObject({
  email: z.string().max(254),
  password: z.string().max(1024),
  organization_name: fields.organizationName.optional(),
})
const switchBody = z.strictObject({ organization_name: fields.organizationName })
const refreshBody = z.strictObject({ refresh_token: z.string().max(4096) })
const logoutBody = z.strictObject({ refresh_token: z.string().max(4096).optional() }).optional()
// The position of the last event of a page: its time and id, opaque to the client.
const auditCursor = z
  .string()
  .max(200)
  .transform((value, context) => {
    try {
      const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString()) as unknown[]
      if (typeof at === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(at)))
        return { at: new Date(at), id }
    } catch {
      // Falls through to the issue below.
    }
    context.addIssue({ code: 'custom', message: 'must be a next_cursor from a previous page' })
    return z.NEVER
  })
const auditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.iso
    .datetime({ offset: true })
    .transform((value) => new Date(value))
    .optional(),
  cursor: auditCursor.optional(),
})
// Every field is optional, so changing a password does not mean resending the name; an empty
// body changes nothing and is refused as such.
const updateBody = z
  .strictObject({
    organization_name: fields.organizationName.optional(),
    slug: slug.optional(),
    email: fields.email.optional(),
    password: fields.password.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    keep_current_session: z.boolean().optional(),
  })
  .refine(({ keep_current_session: _keep, ...body }) => Object.values(body).some((value) => value !== undefined), {
    message: 'give at least one of organization_name, slug, email, password or metadata',
  })
const deleteBody = z.strictObject({ organization_name: fields.organizationName })
// Long enough for any hostname in any script before IDNA; OrgDomains checks the rest.
const domainBody = z.strictObject({ domain: z.string().min(1).max(1024) })

/** An organization on the wire; `metadata` only for its members, never on the public lookup. */
function organizationJson(org: Organization, options: { metadata?: boolean } = {}) {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    created_at: org.createdAt.toISOString(),
    updated_at: org.updatedAt.toISOString(),
    ...(options.metadata ? { metadata: org.metadata } : {}),
  }
}

/**
 * An organization as anyone may see it. A suspended one answers exactly as an active one: that
 * it is suspended is for its members and the back office (suspension does not change
 * `updated_at`, and a create with its name or slug answers the same conflict either way).
 */
async function publicOrganization(tenancy: Tenancy, query: { slug: string } | { nameKey: string }) {
  const org = await internalsOf(tenancy).store.records.organizations.find(query)
  if (org?.state !== 'active' && org?.state !== 'suspended')
    throw new OrganizationNotFoundError('no organization has this name or slug')
  return toOrganization(org)
}

function domainJson(domain: OrganizationDomain) {
  return { domain: domain.domain, created_at: domain.createdAt.toISOString() }
}

/** The org-management routes over a tenancy: the table both adapters serve. */
export function orgRoutes(tenancy: Tenancy, options: { identify: boolean }): OrgRoute[] {
  // A store without domains or audit events serves no routes for them.
  const { records } = internalsOf(tenancy).store
  const kept = (path: string) =>
    (path !== '/org/domains' || records.domains !== undefined) && (path !== '/org/audit' || records.audit !== undefined)
  return allRoutes(tenancy, options.identify).filter((route) => kept(route.path))
}

function allRoutes(tenancy: Tenancy, identify: boolean): OrgRoute[] {
  return [
    identify ? createAsHostUser(tenancy) : createWithPassword(tenancy),
    route({
      method: 'GET',
      path: '/org/get',
      input: 'query',
      schema: getQuery,
      authenticated: false,
      async handle(input) {
        const organization = await publicOrganization(
          tenancy,
          input.slug !== undefined ? { slug: input.slug } : { nameKey: organizationNameKey(input.organization_name!) },
        )
        return { status: 200, body: { organization: organizationJson(organization) } }
      },
    }),
    route({
      method: 'POST',
      path: '/admin/login',
      tokenOnly: true,
      input: 'body',
      schema: loginBody,
      authenticated: false,
      async handle(input, _tenant, request) {
        const tokens = await tenancy.auth.login(
          { email: input.email, password: input.password, organizationName: input.organization_name },
          { clientAddress: request.clientAddress },
        )
        return { status: 200, body: tokensJson(tokens) }
      },
    }),
    route({
      method: 'POST',
      path: '/admin/switch',
      tokenOnly: true,
      input: 'body',
      schema: switchBody,
      authenticated: true,
      async handle(input, tenant, request) {
        return {
          status: 200,
          body: tokensJson(
            await tenancy.auth.switchOrganization(tenant!, input.organization_name, {
              clientAddress: request.clientAddress,
            }),
          ),
        }
      },
    }),
    route({
      method: 'POST',
      path: '/admin/refresh',
      tokenOnly: true,
      input: 'body',
      schema: refreshBody,
      authenticated: false,
      async handle(input) {
        return { status: 200, body: tokensJson(await tenancy.auth.refresh(input.refresh_token)) }
      },
    }),
    route({
      method: 'POST',
      path: '/admin/logout',
      tokenOnly: true,
      input: 'body',
      schema: logoutBody,
      // RFC 7009: the refresh token alone proves the right to revoke it, so a client whose
      // access token has expired can still log out.
      authenticated: 'optional',
      async handle(input, tenant, request) {
        if (!tenant && input?.refresh_token === undefined) throw new TokenMissingError()
        if (input?.refresh_token !== undefined)
          await tenancy.auth.revokeRefreshToken(input.refresh_token, { clientAddress: request.clientAddress })
        if (tenant) await tenancy.auth.logout(tenant, { clientAddress: request.clientAddress })
        return { status: 204 }
      },
    }),
    route({
      method: 'GET',
      path: '/org/audit',
      input: 'query',
      schema: auditQuery,
      authenticated: true,
      permission: 'audit:read',
      async handle(input, tenant) {
        const events = await tenancy.audit.list(tenant!, {
          limit: input.limit,
          before: input.before,
          after: input.cursor,
        })
        const last = events.length === input.limit ? events.at(-1) : undefined
        return {
          status: 200,
          body: {
            // Pass it as `cursor` for the next page; null after the last one.
            next_cursor: last
              ? Buffer.from(JSON.stringify([last.at.toISOString(), last.id])).toString('base64url')
              : null,
            events: events.map((event) => ({
              id: event.id,
              type: event.type,
              account_id: event.accountId,
              client_address: event.clientAddress,
              at: event.at.toISOString(),
              details: event.details,
            })),
          },
        }
      },
    }),
    route({
      method: 'PUT',
      path: '/org/update',
      input: 'body',
      schema: updateBody,
      authenticated: true,
      async handle(input, tenant) {
        const organization = await tenancy.orgs.update(tenant!, {
          name: input.organization_name,
          slug: input.slug,
          email: input.email,
          password: input.password,
          metadata: input.metadata,
        })
        // A new password ends every session of the account; the caller, signed in by token,
        // gets a fresh pair rather than having to sign in again (unless it asks not to).
        const keep =
          input.password !== undefined && tenant!.sessionId !== undefined && input.keep_current_session !== false
        const tokens = keep
          ? await tenancy.auth.startSession({ ...tenant!.member, organizationId: tenant!.id })
          : undefined
        return {
          status: 200,
          body: {
            organization: organizationJson(organization, { metadata: true }),
            ...(tokens ? { tokens: tokensJson(tokens) } : {}),
          },
        }
      },
    }),
    route({
      method: 'DELETE',
      path: '/org/delete',
      input: 'body',
      schema: deleteBody,
      authenticated: true,
      async handle(input, tenant) {
        await tenancy.orgs.delete(tenant!, input.organization_name)
        return { status: 204 }
      },
    }),
    ...memberRoutes(tenancy, identify),
    route({
      method: 'POST',
      path: '/org/domains',
      input: 'body',
      schema: domainBody,
      authenticated: true,
      permission: 'domains:manage',
      async handle(input, tenant) {
        const domain = await tenancy.orgs.addDomain(tenant!, input.domain)
        return { status: 201, body: { domain: domainJson(domain) } }
      },
    }),
    route({
      method: 'GET',
      path: '/org/domains',
      input: 'query',
      schema: noQuery,
      authenticated: true,
      permission: 'domains:manage',
      async handle(_input, tenant) {
        return { status: 200, body: { domains: (await tenancy.orgs.listDomains(tenant!)).map(domainJson) } }
      },
    }),
    route({
      method: 'DELETE',
      path: '/org/domains',
      input: 'body',
      schema: domainBody,
      authenticated: true,
      permission: 'domains:manage',
      async handle(input, tenant) {
        await tenancy.orgs.removeDomain(tenant!, input.domain)
        return { status: 204 }
      },
    }),
  ]
}

/** `POST /org/create` with the owner's email and password: a tenantry account. */
function createWithPassword(tenancy: Tenancy): OrgRoute {
  return route({
    method: 'POST',
    path: '/org/create',
    input: 'body',
    schema: createBody,
    authenticated: false,
    async handle(input, _tenant, request) {
      const { organization, owner } = await tenancy.orgs.create(
        { name: input.organization_name, email: input.email, password: input.password, slug: input.slug },
        { clientAddress: request.clientAddress },
      )
      return { status: 201, body: createdJson(organization, owner) }
    },
  })
}

/** `POST /org/create` under `identify`: the signed-in host user is the owner; no email or password. */
function createAsHostUser(tenancy: Tenancy): OrgRoute {
  return route({
    method: 'POST',
    path: '/org/create',
    input: 'body',
    schema: createAsHostUserBody,
    authenticated: 'identity',
    docsKey: 'POST /org/create as host user',
    async handle(input, _tenant, request) {
      const { subject, email } = request.identity!
      const { organization, owner } = await tenancy.orgs.create(
        {
          name: input.organization_name,
          slug: input.slug,
          owner: { subject, ...(email === undefined ? {} : { email }) },
        },
        { clientAddress: request.clientAddress },
      )
      return { status: 201, body: createdJson(organization, owner) }
    },
  })
}

function createdJson(organization: Organization, owner: Member) {
  // `admin` is the original service's field: the account that logs in.
  return {
    organization: organizationJson(organization),
    admin: { id: owner.accountId, email: owner.email },
    owner: memberJson(owner),
  }
}
