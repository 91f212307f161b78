import express, { type ErrorRequestHandler } from 'express'
import { z } from 'zod'
import { requireTenant, type Tenancy } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/express'
import { createAppUsers, type AppUser, type AppUsers } from '../app-users.js'
import '../example-setup.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The app's own signed-in user, if any (set from x-api-key below; tenantry plays no part). */
      user?: AppUser
    }
  }
}

const noteBody = z.strictObject({ text: z.string().trim().min(1).max(1000) })
const appUserBody = z.strictObject({ name: z.string().trim().min(1).max(100) })

export interface ExampleAppOptions {
  /** Honour X-Forwarded-Host and X-Forwarded-For: only behind a proxy that sets them. */
  trustProxy?: boolean
  users?: AppUsers
}

/**
 * A host app: tenantry's org routes at the root, and its own tenant-scoped routes, one per way
 * of identifying the tenant: tenantry's admin token (/notes), the subdomain or custom domain
 * (/site), and the app's own users (/api/notes, /orgs/:slug/notes).
 */
export function createApp(tenancy: Tenancy, options: ExampleAppOptions = {}): express.Express {
  const users = options.users ?? createAppUsers()
  const app = express()
  app.disable('x-powered-by')
  if (options.trustProxy) app.set('trust proxy', true)
  // The org routes, their OpenAPI document at /openapi.json and its docs page at /docs.
  app.use(orgRouter(tenancy, { docs: true }))
  // The app's own authentication: an API key header. tenantry only sees what it decides.
  app.use((req, _res, next) => {
    req.user = users.authenticate(req.headers['x-api-key'])
    next()
  })

  // A member's token: req.tenant.collection('notes') is the organization's own notes. Reading
  // needs notes:read and writing notes:write (exampleRoles: members read, editors also write;
  // owners and admins may do anything).
  const notes = express.Router()
  notes.post(
    '/',
    tenantScope(tenancy, { permission: 'notes:write' }),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const parsed = noteBody.safeParse(req.body)
      if (!parsed.success) return problem(res, 400, 'Invalid note', z.prettifyError(parsed.error))
      const { insertedId } = await req.tenant
        .collection('notes')
        .insertOne({ text: parsed.data.text, createdAt: new Date() })
      res.status(201).json({ id: insertedId, text: parsed.data.text })
    },
  )
  notes.get('/', tenantScope(tenancy, { permission: 'notes:read' }), async (req, res) => {
    const found = await req.tenant
      .collection('notes')
      .find({}, { sort: { createdAt: 1 } })
      .toArray()
    res.json({ notes: found.map((note) => ({ id: note._id, text: note.text })) })
  })
  app.use('/notes', notes)

  // Whoever may add people gives an employee an API key: a member of its own (role member),
  // listed in /org/members, whose removal ends the key.
  app.post(
    '/app-users',
    tenantScope(tenancy, { permission: 'members:invite' }),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const parsed = appUserBody.safeParse(req.body)
      if (!parsed.success) return problem(res, 400, 'Invalid user', z.prettifyError(parsed.error))
      const { user, apiKey } = users.add(req.tenant.id, parsed.data.name)
      const account = await tenancy.accounts.link({ subject: user.subject })
      const member = await tenancy.admin.addMember(req.tenant.id, { accountId: account.id, role: 'member' })
      res.status(201).json({ user: { id: user.id, name: user.name, member_id: member.id }, api_key: apiKey })
    },
  )

  // acme.<base domain> or a custom domain: a public page, so only public facts.
  app.get('/site', tenantScope(tenancy, { from: 'host' }), (req, res) => {
    res.json({ organization: { name: req.tenant.name, slug: req.tenant.slug } })
  })

  // The app's own user decides the tenant. context: true lets code below find it with
  // requireTenant() instead of passing it along.
  const api = express.Router()
  api.use(
    tenantScope(tenancy, {
      from: (req) => (req.user ? { id: req.user.organizationId } : null),
      member: (req) => req.user?.subject ?? null,
      context: true,
    }),
  )
  api.get('/notes', async (_req, res) => {
    res.json({ notes: await listNotesOfCurrentTenant() })
  })
  app.use('/api', api)

  // The path names the tenant; member makes sure the caller is one of its members, now.
  app.get(
    '/orgs/:slug/notes',
    tenantScope(tenancy, {
      from: (req) => ({ slug: String(req.params.slug) }),
      member: (req) => req.user?.subject ?? null,
    }),
    async (req, res) => {
      const found = await req.tenant
        .collection('notes')
        .find({}, { sort: { createdAt: 1 } })
        .toArray()
      res.json({ organization: req.tenant.slug, notes: found.map((note) => note.text) })
    },
  )

  // express.json() rejects malformed or oversized bodies by throwing; answer those as problems too.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : undefined
    if (status === undefined) return next(err)
    problem(res, status, 'Bad request', String(err.message))
  }
  app.use(onError)
  return app
}

/** Code far from the request: it asks for the current tenant and cannot run without one. */
async function listNotesOfCurrentTenant(): Promise<string[]> {
  const found = await requireTenant()
    .collection('notes')
    .find({}, { sort: { createdAt: 1 } })
    .toArray()
  return found.map((note) => String(note.text))
}

function problem(res: express.Response, status: number, title: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail }))
}
