import { z } from 'zod'

/**
 * The JSON tenantry's routes answer with, as zod schemas: what the OpenAPI document publishes
 * and what the HTTP contract suite checks every answer against. Named ones become components.
 */
const timestamp = z.iso.datetime({ offset: true }).meta({ description: 'RFC 3339 date-time' })

const Organization = z
  .strictObject({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    created_at: timestamp,
    updated_at: timestamp,
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "The host's own JSON about the organization; shown to its members only" }),
  })
  .meta({
    id: 'Organization',
    examples: [
      {
        id: '7b1c…',
        name: 'Acme',
        slug: 'acme',
        created_at: '2026-01-01T00:00:00.000Z',
        updated_at: '2026-01-01T00:00:00.000Z',
      },
    ],
  })

const Member = z
  .strictObject({
    id: z.string().meta({ description: 'The membership id' }),
    account_id: z.string(),
    email: z.string().nullable().meta({ description: 'null for a host user linked without one' }),
    role: z.string().meta({ description: 'owner, admin, member or a custom role' }),
    created_at: timestamp,
  })
  .meta({
    id: 'Member',
    examples: [
      {
        id: 'c2f0…',
        account_id: '91d4…',
        email: 'ada@acme.test',
        role: 'admin',
        created_at: '2026-01-01T00:00:00.000Z',
      },
    ],
  })

const Tokens = z
  .strictObject({
    access_token: z.string().meta({ description: 'A JWT (typ at+jwt) to send as Authorization: Bearer' }),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int().meta({ description: 'Seconds until the access token expires' }),
    refresh_token: z
      .string()
      .meta({ description: 'Opaque and single-use: POST /admin/refresh swaps it for a new pair' }),
  })
  .meta({
    id: 'Tokens',
    examples: [
      {
        access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9…',
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: 'rt_…',
      },
    ],
  })

const Domain = z
  .strictObject({ domain: z.string(), created_at: timestamp })
  .meta({ id: 'Domain', examples: [{ domain: 'app.acme.com', created_at: '2026-01-01T00:00:00.000Z' }] })

const Invitation = z
  .strictObject({ id: z.string(), email: z.string(), role: z.string(), expires_at: timestamp, created_at: timestamp })
  .meta({
    id: 'Invitation',
    examples: [
      {
        id: '5e0a…',
        email: 'new@acme.test',
        role: 'member',
        expires_at: '2026-01-08T00:00:00.000Z',
        created_at: '2026-01-01T00:00:00.000Z',
      },
    ],
  })

const AuditEvent = z
  .strictObject({
    id: z.string(),
    type: z.string(),
    account_id: z.string().nullable(),
    client_address: z.string().nullable(),
    at: timestamp,
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  })
  .meta({ id: 'AuditEvent' })

export const Problem = z
  .object({
    type: z.string().meta({ description: 'urn:tenantry:problem:<code in kebab case>' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ description: 'Stable; branch on this, never on detail' }),
    errors: z
      .array(z.strictObject({ pointer: z.string(), detail: z.string() }))
      .optional()
      .meta({ description: 'VALIDATION_FAILED: each field at fault, as a JSON Pointer' }),
    organizations: z
      .array(z.strictObject({ name: z.string(), slug: z.string() }))
      .optional()
      .meta({ description: 'ORGANIZATION_REQUIRED: the account’s organizations' }),
    limit: z
      .enum(['membersPerOrganization', 'organizationsPerAccount'])
      .optional()
      .meta({ description: 'LIMIT_REACHED: which of the limits the change would pass' }),
    max: z.number().int().optional().meta({ description: 'LIMIT_REACHED: that limit' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' })

/** What each route answers on success: its status and, unless it is empty, its body. */
const Created = z.strictObject({
  organization: Organization,
  admin: z.strictObject({ id: z.string(), email: z.string().nullable() }),
  owner: Member,
})

export const successes = {
  'POST /org/create': { status: 201, body: Created },
  'POST /org/create as host user': { status: 201, body: Created },
  'GET /org/get': { status: 200, body: z.strictObject({ organization: Organization }) },
  'POST /admin/login': { status: 200, body: Tokens },
  'POST /admin/switch': { status: 200, body: Tokens },
  'POST /admin/refresh': { status: 200, body: Tokens },
  'POST /admin/logout': { status: 204 },
  'GET /org/audit': {
    status: 200,
    body: z.strictObject({ next_cursor: z.string().nullable(), events: z.array(AuditEvent) }),
  },
  'PUT /org/update': {
    status: 200,
    body: z.strictObject({
      organization: Organization,
      tokens: Tokens.optional().meta({
        description: 'After a password change by token: a fresh pair for the caller, whose other sessions ended',
      }),
    }),
  },
  'DELETE /org/delete': { status: 204 },
  'POST /org/domains': { status: 201, body: z.strictObject({ domain: Domain }) },
  'GET /org/domains': { status: 200, body: z.strictObject({ domains: z.array(Domain) }) },
  'DELETE /org/domains': { status: 204 },
  'GET /org/members': { status: 200, body: z.strictObject({ members: z.array(Member) }) },
  'PATCH /org/members/{id}': { status: 200, body: z.strictObject({ member: Member }) },
  'DELETE /org/members/{id}': { status: 204 },
  'POST /org/leave': { status: 204 },
  'POST /org/transfer-ownership': { status: 200, body: z.strictObject({ owner: Member }) },
  'POST /org/invitations': {
    status: 201,
    body: z.strictObject({
      invitation: Invitation,
      token: z.string().meta({ description: 'Shown once: 256 random bits, base64url' }),
    }),
  },
  'GET /org/invitations': { status: 200, body: z.strictObject({ invitations: z.array(Invitation) }) },
  'DELETE /org/invitations/{id}': { status: 204 },
  'POST /org/invitations/accept': { status: 200, body: Tokens },
  'POST /org/invitations/accept as host user': { status: 200, body: z.strictObject({ member: Member }) },
} satisfies Record<string, { status: number; body?: z.ZodType }>
