import { randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import type { Tenancy } from '../tenancy.js'

/** One request of the host app's, with placeholders filled in per caller (see `describeRouteLeaks`). */
export interface ProbedRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** `/notes`, `/orgs/{victimSlug}/notes`, `/notes/{victimId}`, ... */
  path: string
  /** A JSON body; its strings take placeholders too. */
  body?: unknown
  /** Extra headers (`{ host: '{slug}.localhost' }`); values take placeholders. */
  headers?: Record<string, string>
  /** On a seed route: the id of what it created, from the response body, for `{id}` and `{victimId}`. */
  createdId?: (body: unknown) => string | undefined
}

export interface AppUnderTest {
  /** The app as a Node request listener: an Express app, or a Koa app's `callback()`. */
  listener: RequestListener
  tenancy: Tenancy
}

export interface SignInContext {
  baseUrl: string
  tenancy: Tenancy
  email: string
  password: string
}

export interface RouteLeakOptions {
  name: string
  /** A fresh app over a fresh, empty store: called for every world the probe builds. */
  app(): Promise<AppUnderTest> | AppUnderTest
  /**
   * The headers a member of a tenant sends. Default: tenantry's own login (`POST /admin/login`,
   * mounted at the root) as a Bearer token. An app with its own sign-in logs in here.
   */
  signIn?(context: SignInContext): Promise<Record<string, string>>
  /** Routes that write a tenant's data; each tenant calls each once, with its marker, before the probe. */
  seed: ProbedRoute[]
  /** Every tenant-scoped route, reads and writes, that the attacker calls. */
  routes: ProbedRoute[]
}

interface Caller {
  headers: Record<string, string>
  slug: string
  organizationId: string
  marker: string
  ids: string[]
}

const PASSWORD = 'leak probe passphrase'
// What an app generates afresh in each world: ids, timestamps, tokens and keys.
const GENERATED = [
  /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi,
  /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g,
  /\beyJ[\w-]+\.[\w-]+\.[\w-]+/g,
  /\b(?=[\w-]*\d)[\w-]{16,}/g,
  // Keys without a digit: base64url with a separator and both cases (`ak_Of_xfdCFANGIK...`).
  /\b(?=[\w-]*[_-])(?=[\w-]*[a-z])(?=[\w-]*[A-Z])[\w-]{16,}/g,
]

/**
 * The leak probe for a host app's own routes. It builds two worlds, each with an attacker and a
 * victim organization, the victim's data present in one and absent in the other; calls every
 * route as the attacker (aimed at the victim where a placeholder says so); and fails when an
 * answer carries the victim's data, differs between the worlds (an existence oracle), or an
 * action of the attacker's changed what the victim sees.
 *
 * Placeholders in paths, bodies and headers: `{marker}` (a string unique to the caller),
 * `{slug}`, `{id}` (what the caller's first seed created), and the victim's `{victimSlug}`,
 * `{victimId}` and `{victimOrganizationId}`.
 *
 * @example
 * describeRouteLeaks({
 *   name: 'notes',
 *   app: () => { const tenancy = createTenancy(...); return { listener: createApp(tenancy), tenancy } },
 *   seed: [{ method: 'POST', path: '/notes', body: { text: '{marker}' } }],
 *   routes: [{ method: 'GET', path: '/notes' }, { method: 'GET', path: '/orgs/{victimSlug}/notes' }],
 * })
 */
export function describeRouteLeaks(options: RouteLeakOptions): void {
  describe(`the ${options.name} routes, probed by an attacker with the victim's data present and absent`, () => {
    for (const [index, route] of options.routes.entries()) {
      it(`answers alike and leaves the victim whole: ${route.method} ${route.path}`, () =>
        probeRouteLeak(options, index))
    }
  })
}

/**
 * Probes `routes[index]` in two fresh worlds, after every route before it: rejects with an
 * `AssertionError` that names the leak. What `describeRouteLeaks` runs for each route.
 */
export async function probeRouteLeak(options: RouteLeakOptions, index: number): Promise<void> {
  const route = options.routes[index]
  if (route === undefined) throw new RangeError(`leak probe: no route ${index}`)
  const answers: string[] = []
  const run = randomBytes(6).toString('hex')
  for (const victimData of [true, false]) {
    const { attacker, victim, call, view, normalize, close } = await world(options, victimData, run)
    try {
      // Every route before this one first, as the app's client would have called them.
      for (const earlier of options.routes.slice(0, index)) await call(earlier, attacker)
      const before = await view(victim)
      const answer = await call(route, attacker)
      expect(answer.status, answer.text).toBeLessThan(500)
      expect(answer.text, "the answer carries the victim's data").not.toContain(victim.marker)
      expect(await view(victim), "the victim's view changed").toBe(before)
      answers.push(`${answer.status} ${normalize(answer.text)}`)
    } finally {
      await close()
    }
  }
  expect(answers[0], 'the answer depends on whether the victim has data').toBe(answers[1])
}

/** One world: a fresh app, the attacker's and the victim's organizations, seeded. `run` names both alike in either world. */
async function world(options: RouteLeakOptions, victimData: boolean, run: string) {
  const signIn = options.signIn ?? tokenSignIn
  const reads = options.routes.filter((route) => route.method === 'GET')
  const { listener, tenancy } = await options.app()
  const server = await listen(listener)
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const callers: Caller[] = []
  for (const role of ['attacker', 'victim']) {
    const email = `${role}-${run}@leak-probe.test`
    const { organization } = await tenancy.orgs.create({ name: `Probe ${role} ${run}`, email, password: PASSWORD })
    const headers = await signIn({ baseUrl, tenancy, email, password: PASSWORD })
    const marker = `LEAK-PROBE-${role.toUpperCase()}-${run}`
    callers.push({ headers, slug: organization.slug, organizationId: organization.id, marker, ids: [] })
  }
  const [attacker, victim] = callers as [Caller, Caller]
  const call = (route: ProbedRoute, as: Caller) => send(baseUrl, route, as, as === attacker ? victim : attacker)
  for (const caller of victimData ? [attacker, victim] : [attacker]) {
    for (const route of options.seed) {
      const answer = await call(route, caller)
      expect(answer.status, `seeding ${route.method} ${route.path}: ${answer.text}`).toBeLessThan(300)
      const id = route.createdId?.(answer.body)
      if (id !== undefined) caller.ids.push(id)
    }
  }
  // Absent data has no ids of its own: the attacker aims at ids shaped like the victim's would be.
  if (!victimData) victim.ids = attacker.ids.map(absentLike)
  const view = async (caller: Caller) =>
    (await Promise.all(reads.map(async (read) => (await call(read, caller)).text))).join('\n')
  const normalize = (text: string) => {
    let result = text
    for (const [caller, role] of [
      [attacker, 'attacker'],
      [victim, 'victim'],
    ] as const) {
      for (const [value, name] of [
        [caller.marker, 'marker'],
        [caller.organizationId, 'organization'],
        [caller.slug, 'slug'],
        ...caller.ids.map((id, i) => [id, `id${i}`]),
      ])
        if (value) result = result.replaceAll(value, `<${role}-${name}>`)
    }
    for (const pattern of GENERATED) result = result.replace(pattern, '<generated>')
    return result
  }
  return { attacker, victim, call, view, normalize, close: () => close(server) }
}

async function tokenSignIn({ baseUrl, email, password }: SignInContext): Promise<Record<string, string>> {
  const body = JSON.stringify({ email, password })
  const { status, text } = await request(
    `${baseUrl}/admin/login`,
    'POST',
    { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  )
  if (status !== 200) throw new Error(`leak probe: signing in answered ${status}`)
  return { authorization: `Bearer ${(JSON.parse(text) as { access_token: string }).access_token}` }
}

/** `node:http`, not fetch: a probe sets `Host` as a browser on a tenant's subdomain would. */
function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method, headers }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString() }))
      response.on('error', reject)
    })
    outgoing.on('error', reject)
    outgoing.end(body)
  })
}

async function send(baseUrl: string, route: ProbedRoute, as: Caller, other: Caller) {
  const fill = (text: string) =>
    text
      .replaceAll('{marker}', as.marker)
      .replaceAll('{slug}', as.slug)
      .replaceAll('{id}', as.ids[0] ?? 'none')
      .replaceAll('{victimSlug}', other.slug)
      .replaceAll('{victimId}', other.ids[0] ?? 'none')
      .replaceAll('{victimOrganizationId}', other.organizationId)
  const headers: Record<string, string> = { ...as.headers }
  for (const [name, value] of Object.entries(route.headers ?? {})) headers[name] = fill(value)
  let body: string | undefined
  if (route.body !== undefined) {
    body = fill(JSON.stringify(route.body))
    headers['content-type'] = 'application/json'
    // Framed explicitly: Node sends a DELETE body without framing otherwise.
    headers['content-length'] = String(Buffer.byteLength(body))
  }
  const { status, text } = await request(`${baseUrl}${fill(route.path)}`, route.method, headers, body)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status, text, body: parsed }
}

/** An id of the same shape that names nothing: what a victim's id is in the world without its data. */
function absentLike(id: string): string {
  const last = id.at(-1) ?? '0'
  return id.slice(0, -1) + (last === '0' ? '1' : '0')
}

function listen(listener: RequestListener): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer(listener)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}
