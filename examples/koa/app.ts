import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'
import session from 'koa-session'
import { z } from 'zod'
import { requireTenant, type Tenancy } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/koa'
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

declare module 'koa' {
  interface DefaultState {
    /** The app's own signed-in user, if any (set from x-api-key below; tenantry plays no part). */
    user?: AppUser
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
 * app's own form (koa-session) reach tenantry's routes under /my through `identify`.
 */
export function createApp(tenancy: Tenancy, options: ExampleAppOptions = {}): Koa {
  const users = options.users ?? createAppUsers()
  const people = options.people ?? createPeople()
  const notes = options.notes ?? collectionNotes
  const app = new Koa()
  app.proxy = options.trustProxy === true
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' })
  // bodyparser throws on malformed or oversized bodies; answer those as problems.
  app.use(async (ctx, next) => {
    try {
      await next()
    } catch (err) {
      const status = (err as { status?: number }).status
      if (typeof status !== 'number' || status < 400 || status >= 500) throw err
      problem(ctx, status, 'Bad request', String((err as Error).message))
    }
  })
  // The org routes, their OpenAPI document at /openapi.json and its docs page at /docs.
  app.use(orgRouter(tenancy, { docs: true }))
  // The app's own authentication: an API key header. tenantry only sees what it decides.
  app.use(async (ctx, next) => {
    ctx.state.user = users.authenticate(ctx.get('x-api-key') || undefined)
    await next()
  })

  // The app's own sign-in: a login form, and a signed session cookie. tenantry sees only what
  // identify (below) and tenantScope's member read off the session. Its sign-up does NOT verify
  // email addresses: anyone may sign up as kate@acme.test and then accept an invitation sent to
  // that address. A real app sends a confirmation link before it trusts an address.
  app.keys = [options.sessionSecret ?? exampleSessionSecret()]
  app.use(session({ key: 'example.session', httpOnly: true, sameSite: 'lax', signed: true }, app))
  const signedIn = (ctx: Koa.Context) => (ctx.session?.signedIn as SignedIn | undefined) ?? undefined
  const form = bodyParser({ enableTypes: ['form', 'json'], formLimit: '4kb', jsonLimit: '4kb' })
  const account = new Router()
  account.get('/sign-in', (ctx) => {
    ctx.type = 'html'
    ctx.body = SIGN_IN_PAGE
  })
  for (const [path, act] of [
    ['/sign-in', people.signIn],
    ['/sign-up', people.signUp],
  ] as const) {
    account.post(path, form, async (ctx) => {
      const parsed = credentials.safeParse(ctx.request.body)
      if (!parsed.success) return problem(ctx, 400, 'Invalid sign-in', z.prettifyError(parsed.error))
      const person = await act(parsed.data.email, parsed.data.password)
      if (!person)
        return path === '/sign-in'
          ? problem(ctx, 401, 'Wrong email or password', 'no account has this email and password')
          : problem(ctx, 409, 'Email taken', 'an account already has this email')
      // A fresh session on sign-in: nothing set before it survives.
      ctx.session = { signedIn: { person } satisfies SignedIn }
      if (ctx.is('urlencoded')) {
        ctx.status = 303
        return ctx.redirect('/me')
      }
      ctx.status = path === '/sign-up' ? 201 : 200
      ctx.body = { user: { id: person.id, email: person.email } }
    })
  }
  account.post('/sign-out', (ctx) => {
    ctx.session = null
    ctx.status = 204
  })
  account.get('/me', (ctx) => {
    const current = signedIn(ctx)
    if (!current) return problem(ctx, 401, 'Not signed in', 'sign in at /sign-in')
    ctx.body = {
      user: { id: current.person.id, email: current.person.email },
      organization_id: current.organizationId ?? null,
    }
  })
  // Which organization the person works in now: tenantry checks the membership on every request.
  account.put('/me/organization', json, async (ctx) => {
    const current = signedIn(ctx)
    if (!current) return problem(ctx, 401, 'Not signed in', 'sign in at /sign-in')
    const parsed = organizationBody.safeParse(ctx.request.body)
    if (!parsed.success) return problem(ctx, 400, 'Invalid organization', z.prettifyError(parsed.error))
    const tenant = await tenancy.tenant({ slug: parsed.data.slug }).catch(() => null)
    if (!tenant) return problem(ctx, 404, 'No such organization', 'no organization has this slug')
    ctx.session!.signedIn = { ...current, organizationId: tenant.id } satisfies SignedIn
    ctx.body = { organization: { id: tenant.id, slug: tenant.slug } }
  })
  app.use(account.routes()).use(account.allowedMethods())
  // tenantry's member, invitation and organization routes for the signed-in person: no bearer
  // token, no tenantry password. POST /my/org/create makes them the owner.
  app.use(orgRouter(tenancy, { prefix: '/my', identify: (ctx) => identityOf(signedIn(ctx)), routes: { auth: false } }))

  // An organization admin's token: ctx.state.tenant.data is the organization's own collection.
  // Reading needs notes:read and writing notes:write (exampleRoles: members read, editors also write).
  const notesRouter = new Router({ prefix: '/notes' })
  notesRouter.post('/', tenantScope(tenancy, { permission: 'notes:write' }), json, async (ctx) => {
    const parsed = noteBody.safeParse(ctx.request.body)
    if (!parsed.success) return problem(ctx, 400, 'Invalid note', z.prettifyError(parsed.error))
    const note = await notes.add(ctx.state.tenant, parsed.data.text)
    ctx.status = 201
    ctx.body = note
  })
  notesRouter.get('/', tenantScope(tenancy, { permission: 'notes:read' }), async (ctx) => {
    const found = await notes.list(ctx.state.tenant)
    ctx.body = { notes: found }
  })
  app.use(notesRouter.routes()).use(notesRouter.allowedMethods())

  const router = new Router()
  // Whoever may add people gives an employee an API key: a member of its own (role member),
  // listed in /org/members, whose removal ends the key.
  router.post('/app-users', tenantScope(tenancy, { permission: 'members:invite' }), json, async (ctx) => {
    const parsed = appUserBody.safeParse(ctx.request.body)
    if (!parsed.success) return problem(ctx, 400, 'Invalid user', z.prettifyError(parsed.error))
    const { user, apiKey } = users.add(ctx.state.tenant.id, parsed.data.name)
    const account = await tenancy.accounts.link({ subject: user.subject })
    const member = await tenancy.admin.addMember(ctx.state.tenant.id, { accountId: account.id, role: 'member' })
    ctx.status = 201
    ctx.body = { user: { id: user.id, name: user.name, member_id: member.id }, api_key: apiKey }
  })

  // acme.<base domain> or a custom domain: a public page, so only public facts.
  router.get('/site', tenantScope(tenancy, { from: 'host' }), (ctx) => {
    ctx.body = { organization: { name: ctx.state.tenant.name, slug: ctx.state.tenant.slug } }
  })

  // The app's own user decides the tenant. context: true lets code below find it with
  // requireTenant() instead of passing it along.
  router.get(
    '/api/notes',
    tenantScope(tenancy, {
      from: (ctx) => (ctx.state.user ? { id: ctx.state.user.organizationId } : null),
      member: (ctx) => ctx.state.user?.subject ?? null,
      context: true,
    }),
    async (ctx) => {
      ctx.body = { notes: await listNotesOfCurrentTenant(notes) }
    },
  )

  // The path names the tenant; member makes sure the caller (an API key's or a signed-in
  // person's) is one of its members, now, with the permission the route needs.
  const byPath = (permission: string) =>
    tenantScope(tenancy, {
      from: (ctx) => ({ slug: String(ctx.params.slug) }),
      member: (ctx) => ctx.state.user?.subject ?? signedIn(ctx)?.person.subject ?? null,
      permission,
    })
  router.get('/orgs/:slug/notes', byPath('notes:read'), async (ctx) => {
    const found = await notes.list(ctx.state.tenant)
    ctx.body = { organization: ctx.state.tenant.slug, notes: found.map((note) => note.text) }
  })
  router.post('/orgs/:slug/notes', byPath('notes:write'), json, async (ctx) => {
    const parsed = noteBody.safeParse(ctx.request.body)
    if (!parsed.success) return problem(ctx, 400, 'Invalid note', z.prettifyError(parsed.error))
    const note = await notes.add(ctx.state.tenant, parsed.data.text)
    ctx.status = 201
    ctx.body = note
  })
  app.use(router.routes()).use(router.allowedMethods())
  return app
}

/** Code far from the request: it asks for the current tenant and cannot run without one. */
async function listNotesOfCurrentTenant(notes: Notes): Promise<string[]> {
  return (await notes.list(requireTenant())).map((note) => note.text)
}

function problem(ctx: Koa.Context, status: number, title: string, detail: string): void {
  ctx.status = status
  ctx.type = 'application/problem+json'
  ctx.body = JSON.stringify({ type: 'about:blank', title, status, detail })
}
