import express, { type ErrorRequestHandler } from 'express'
import session from 'express-session'
import { z } from 'zod'
import { requireTenant, type Tenancy } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/express'
import {
  createAppUsers,
  createPeople,
  credentials,
  identityOf,
  SIGN_IN_PAGE,
  type AppUser,
  type AppUsers,
  type People,
  type SignedIn,
} from '../app-users.js'
import { exampleSessionSecret } from '../example-setup.js'
import { collectionNotes, type Notes } from '../notes.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The app's own signed-in user, if any (set from x-api-key below; tenantry plays no part). */
      user?: AppUser
    }
  }
}

declare module 'express-session' {
  interface SessionData {
    signedIn?: SignedIn
  }
}

const noteBody = z.strictObject({ text: z.string().trim().min(1).max(1000) })
const appUserBody = z.strictObject({ name: z.string().trim().min(1).max(100) })
const organizationBody = z.strictObject({ slug: z.string().min(1).max(63) })

export interface ExampleAppOptions {
  /** Honour X-Forwarded-Host and X-Forwarded-For: only behind a proxy that sets them. */
  trustProxy?: boolean
  users?: AppUsers
  /** The people who sign in with the app's own form (default: none yet, bcrypt cost 10). */
  people?: People
  /** Signs the session cookie. Default SESSION_SECRET, or a random one for this process. */
  sessionSecret?: string
  /** How the store keeps notes: a collection (default) or, on PostgreSQL, a table. */
  notes?: Notes
}

/**
 * A host app: tenantry's org routes at the root, and its own tenant-scoped routes, one per way
 * of identifying the tenant: tenantry's admin token (/notes), the subdomain or custom domain
 * (/site), and the app's own users (/api/notes, /orgs/:slug/notes). People who sign in with the
 * app's own form (express-session) reach tenantry's routes under /my through `identify`.
 */
export function createApp(tenancy: Tenancy, options: ExampleAppOptions = {}): express.Express {
  const users = options.users ?? createAppUsers()
  const people = options.people ?? createPeople()
  const notes = options.notes ?? collectionNotes
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

  // The app's own sign-in: a login form, and a session cookie. Its sign-up does NOT verify email
  // addresses: anyone may sign up as kate@acme.test and then accept an invitation sent to that
  // address. A real app sends a confirmation link before it trusts an address. tenantry sees only what
  // identify (below) and tenantScope's member read off the session.
  app.use(
    session({
      secret: options.sessionSecret ?? exampleSessionSecret(),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax' },
    }),
  )
  const form = express.urlencoded({ extended: false, limit: '4kb' })
  const json = express.json({ limit: '4kb' })
  app.get('/sign-in', (_req, res) => {
    res.type('html').send(SIGN_IN_PAGE)
  })
  for (const [path, act] of [
    ['/sign-in', people.signIn],
    ['/sign-up', people.signUp],
  ] as const) {
    app.post(path, form, json, async (req, res, next) => {
      const parsed = credentials.safeParse(req.body)
      if (!parsed.success) return problem(res, 400, 'Invalid sign-in', z.prettifyError(parsed.error))
      const person = await act(parsed.data.email, parsed.data.password)
      if (!person)
        return path === '/sign-in'
          ? problem(res, 401, 'Wrong email or password', 'no account has this email and password')
          : problem(res, 409, 'Email taken', 'an account already has this email')
      // A new session id on sign-in: a session id planted before it is worth nothing after.
      req.session.regenerate((err) => {
        if (err) return next(err)
        req.session.signedIn = { person }
        if (req.is('urlencoded')) return res.redirect(303, '/me')
        res.status(path === '/sign-up' ? 201 : 200).json({ user: { id: person.id, email: person.email } })
      })
    })
  }
  app.post('/sign-out', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.status(204).end()))
  })
  app.get('/me', (req, res) => {
    const signedIn = req.session.signedIn
    if (!signedIn) return problem(res, 401, 'Not signed in', 'sign in at /sign-in')
    res.json({
      user: { id: signedIn.person.id, email: signedIn.person.email },
      organization_id: signedIn.organizationId ?? null,
    })
  })
  // Which organization the person works in now: tenantry checks the membership on every request.
  app.put('/me/organization', json, async (req, res) => {
    const signedIn = req.session.signedIn
    if (!signedIn) return problem(res, 401, 'Not signed in', 'sign in at /sign-in')
    const parsed = organizationBody.safeParse(req.body)
    if (!parsed.success) return problem(res, 400, 'Invalid organization', z.prettifyError(parsed.error))
    const tenant = await tenancy.tenant({ slug: parsed.data.slug }).catch(() => null)
    if (!tenant) return problem(res, 404, 'No such organization', 'no organization has this slug')
    signedIn.organizationId = tenant.id
    res.json({ organization: { id: tenant.id, slug: tenant.slug } })
  })
  // tenantry's member, invitation and organization routes for the signed-in person: no bearer
  // token, no tenantry password. POST /my/org/create makes them the owner.
  app.use(
    '/my',
    orgRouter(tenancy, {
      identify: (req) => identityOf(req.session.signedIn),
      routes: { auth: false },
      openapi: { prefix: '/my' },
    }),
  )

  // A member's token: notes.list(req.tenant) is the organization's own notes. Reading
  // needs notes:read and writing notes:write (exampleRoles: members read, editors also write;
  // owners and admins may do anything).
  const notesRouter = express.Router()
  notesRouter.post(
    '/',
    tenantScope(tenancy, { permission: 'notes:write' }),
    express.json({ limit: '16kb' }),
    async (req, res) => {
      const parsed = noteBody.safeParse(req.body)
      if (!parsed.success) return problem(res, 400, 'Invalid note', z.prettifyError(parsed.error))
      const note = await notes.add(req.tenant, parsed.data.text)
      res.status(201).json(note)
    },
  )
  notesRouter.get('/', tenantScope(tenancy, { permission: 'notes:read' }), async (req, res) => {
    const found = await notes.list(req.tenant)
    res.json({ notes: found })
  })
  app.use('/notes', notesRouter)

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
    res.json({ notes: await listNotesOfCurrentTenant(notes) })
  })
  app.use('/api', api)

  // The path names the tenant; member makes sure the caller (an API key's or a signed-in
  // person's) is one of its members, now, with the permission the route needs.
  const byPath = (permission: string) =>
    tenantScope(tenancy, {
      from: (req) => ({ slug: String(req.params.slug) }),
      member: (req) => req.user?.subject ?? req.session.signedIn?.person.subject ?? null,
      permission,
    })
  app.get('/orgs/:slug/notes', byPath('notes:read'), async (req, res) => {
    const found = await notes.list(req.tenant)
    res.json({ organization: req.tenant.slug, notes: found.map((note) => note.text) })
  })
  app.post('/orgs/:slug/notes', byPath('notes:write'), express.json({ limit: '16kb' }), async (req, res) => {
    const parsed = noteBody.safeParse(req.body)
    if (!parsed.success) return problem(res, 400, 'Invalid note', z.prettifyError(parsed.error))
    const note = await notes.add(req.tenant, parsed.data.text)
    res.status(201).json(note)
  })

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
async function listNotesOfCurrentTenant(notes: Notes): Promise<string[]> {
  return (await notes.list(requireTenant())).map((note) => note.text)
}

function problem(res: express.Response, status: number, title: string, detail: string): void {
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail }))
}
