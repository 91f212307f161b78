/**
 * One benchmark server variant in a process of its own. The parent (bench/run.ts) starts it
 * with the variant's name, gets `{ port, headers }` over IPC once it listens, and drives it.
 * Every variant serves the same route: GET /hello → 200 {"hello": <tenant name>}.
 */
import { once } from 'node:events'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import bcrypt from 'bcrypt'
import express from 'express'
import jwt from 'jsonwebtoken'
import Koa from 'koa'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import { orgRouter, tenantScope as expressTenantScope } from 'tenantry/express'
import { PASSWORD, SECRET } from './constants.js'
import { tenantScope as koaTenantScope } from 'tenantry/koa'
import { storeOf } from '../test/support/store-of.js'

const MAX_TOKENS = 1000

type Ready = { port: number; headers: Record<string, string>[]; memoryPerOrganizationBytes?: number }
type Headers = Record<string, string>[]

// What a middleware that only sets a tenant object costs: the floor any tenantScope is held to.
const FIXED_TENANT = Object.freeze({ id: 'org-0', name: 'Org 0', slug: 'org-0', data: null })
const BASE_DOMAIN = 'bench.test'

/** Seeds `count` organizations straight through the store (one shared hash: bcrypt is not what is measured). */
async function seededTenancy(count: number): Promise<{
  tenancy: Tenancy
  headers: Headers
  hosts: Headers
  orgIds: Headers
  members: Headers
  bytesPerOrg: number
}> {
  const tenancy = createTenancy({ store: memoryStore(), auth: { secret: SECRET, bcryptCost: 4 } })
  const passwordHash = await bcrypt.hash(PASSWORD, 4)
  global.gc?.()
  const before = process.memoryUsage().heapUsed
  const admins: { id: string; accountId: string; organizationId: string }[] = []
  for (let i = 0; i < count; i++) {
    const now = new Date()
    const org = {
      id: `org-${i}`,
      name: `Org ${i}`,
      nameKey: `org ${i}`,
      slug: `org-${i}`,
      dataKey: `t_${i.toString(16).padStart(24, '0')}`,
      ownerId: `member-${i}`,
      state: 'active' as const,
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    }
    const account = {
      id: `account-${i}`,
      email: `admin${i}@bench.test`,
      subject: `user-${i}`,
      passwordHash,
      tokenVersion: 0,
      createdAt: now,
      updatedAt: now,
    }
    const admin = {
      id: `member-${i}`,
      accountId: account.id,
      organizationId: org.id,
      role: 'admin',
      createdAt: now,
      updatedAt: now,
    }
    await storeOf(tenancy).records.organizations.insert(org)
    await storeOf(tenancy).records.accounts.insert(account)
    await storeOf(tenancy).records.memberships.insert(admin)
    await storeOf(tenancy).data.provision(org)
    if (admins.length < MAX_TOKENS && i % Math.max(1, Math.floor(count / MAX_TOKENS)) === 0) admins.push(admin)
  }
  global.gc?.()
  const bytesPerOrg = (process.memoryUsage().heapUsed - before) / count
  const headers = await Promise.all(
    admins.map(async (admin) => ({ authorization: `Bearer ${(await tenancy.auth.startSession(admin)).accessToken}` })),
  )
  // The same organizations named by subdomain, and by the id a host app's own user carries.
  const hosts = admins.map((admin) => ({ ...headers[0], host: `${admin.organizationId}.${BASE_DOMAIN}` }))
  const orgIds = admins.map((admin) => ({ ...headers[0], 'x-org': admin.organizationId }))
  // A host app's own signed-in user: the organization and the user's id, its membership checked by tenantry.
  const members = admins.map((admin) => ({
    ...headers[0],
    'x-org': admin.organizationId,
    'x-user': `user-${admin.accountId.slice('account-'.length)}`,
  }))
  return { tenancy, headers, hosts, orgIds, members, bytesPerOrg }
}

async function expressBetterAuth(): Promise<{ app: express.Express; headers: Record<string, string>[] }> {
  const { betterAuth } = await import('better-auth')
  const { memoryAdapter } = await import('better-auth/adapters/memory')
  const { organization } = await import('better-auth/plugins')
  const { fromNodeHeaders } = await import('better-auth/node')
  const db: Record<string, unknown[]> = {
    user: [],
    session: [],
    account: [],
    verification: [],
    organization: [],
    member: [],
    invitation: [],
  }
  const auth = betterAuth({
    database: memoryAdapter(db),
    secret: SECRET,
    baseURL: 'http://127.0.0.1',
    emailAndPassword: { enabled: true },
    plugins: [organization()],
    telemetry: { enabled: false },
    logger: { disabled: true },
  })
  const signUp = await auth.api.signUpEmail({
    body: { email: 'a@bench.test', password: PASSWORD, name: 'Bench' },
    returnHeaders: true,
  })
  const cookie = signUp.headers.get('set-cookie')!.split(';')[0]!
  await auth.api.createOrganization({ body: { name: 'Org 0', slug: 'org-0' }, headers: new Headers({ cookie }) })
  const app = express()
  // How a Better Auth app scopes a request: the session, then its active organization.
  app.get('/hello', async (req, res) => {
    const headers = fromNodeHeaders(req.headers)
    const session = await auth.api.getSession({ headers })
    if (!session?.session.activeOrganizationId) return void res.status(401).end()
    const org = await auth.api.getFullOrganization({ headers })
    if (!org) return void res.status(401).end()
    res.json({ hello: org.name })
  })
  return { app, headers: [{ cookie }] }
}

/** The common hand-rolled middleware: jsonwebtoken with the secret passed as a string. */
function expressJsonwebtoken(): { app: express.Express; headers: Record<string, string>[] } {
  const organizations = new Map([['org-0', { id: 'org-0', name: 'Org 0' }]])
  const app = express()
  app.get('/hello', (req, res) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? ''
    try {
      const claims = jwt.verify(token, SECRET, { algorithms: ['HS256'], issuer: 'tenantry', audience: 'tenantry' }) as {
        org: string
      }
      const org = organizations.get(claims.org)
      if (!org) return void res.status(401).end()
      res.json({ hello: org.name })
    } catch {
      res.status(401).end()
    }
  })
  const token = jwt.sign({ org: 'org-0', ver: 0 }, SECRET, {
    algorithm: 'HS256',
    subject: 'admin-0',
    issuer: 'tenantry',
    audience: 'tenantry',
    expiresIn: 3600,
  })
  return { app, headers: [{ authorization: `Bearer ${token}` }] }
}

async function start(variant: string, organizations: number): Promise<{ server: Server; ready: Omit<Ready, 'port'> }> {
  const listen = (handler: Parameters<typeof import('node:http').createServer>[1] | express.Express) =>
    (handler as express.Express).listen(0, '127.0.0.1')
  switch (variant) {
    // The bare routes get the same Authorization headers (and ignore them), so parsing those
    // bytes is not counted against tenantry.
    case 'express-bare': {
      const { headers } = await seededTenancy(organizations)
      return {
        server: listen(
          express().get('/hello', (_req, res) => {
            res.json({ hello: 'Org 0' })
          }),
        ),
        ready: { headers },
      }
    }
    case 'express-noop': {
      const { headers } = await seededTenancy(organizations)
      const noop: express.RequestHandler = (req, _res, next) => {
        ;(req as { tenant: unknown }).tenant = FIXED_TENANT
        next()
      }
      return {
        server: listen(
          express().get('/hello', noop, (req, res) => {
            res.json({ hello: req.tenant.name })
          }),
        ),
        ready: { headers },
      }
    }
    case 'koa-noop': {
      const { headers } = await seededTenancy(organizations)
      const app = new Koa()
        .use((ctx, next) => {
          ctx.state.tenant = FIXED_TENANT as never
          return next()
        })
        .use((ctx) => {
          ctx.body = { hello: ctx.state.tenant.name }
        })
      return { server: app.listen(0, '127.0.0.1'), ready: { headers } }
    }
    case 'koa-bare': {
      const { headers } = await seededTenancy(organizations)
      return {
        server: new Koa()
          .use((ctx) => {
            ctx.body = { hello: 'Org 0' }
          })
          .listen(0, '127.0.0.1'),
        ready: { headers },
      }
    }
    case 'express-tenantry':
    case 'express-tenantry-host':
    case 'express-tenantry-resolver':
    case 'express-tenantry-member':
    case 'express-tenantry-context': {
      const { tenancy, headers, hosts, orgIds, members, bytesPerOrg } = await seededTenancy(organizations)
      const [scope, sent] = (
        {
          'express-tenantry': [expressTenantScope(tenancy), headers],
          'express-tenantry-host': [expressTenantScope(tenancy, { from: 'host', baseDomain: BASE_DOMAIN }), hosts],
          'express-tenantry-resolver': [
            expressTenantScope(tenancy, { from: (req) => ({ id: req.headers['x-org'] as string }) }),
            orgIds,
          ],
          'express-tenantry-member': [
            expressTenantScope(tenancy, {
              from: (req) => ({ id: req.headers['x-org'] as string }),
              member: (req) => req.headers['x-user'] as string,
            }),
            members,
          ],
          'express-tenantry-context': [expressTenantScope(tenancy, { context: true }), headers],
        } as Record<string, [express.RequestHandler, Headers]>
      )[variant]!
      const app = express().get('/hello', scope, (req, res) => {
        res.json({ hello: req.tenant.name })
      })
      return { server: listen(app), ready: { headers: sent, memoryPerOrganizationBytes: bytesPerOrg } }
    }
    case 'koa-tenantry':
    case 'koa-tenantry-host':
    case 'koa-tenantry-resolver':
    case 'koa-tenantry-member':
    case 'koa-tenantry-context': {
      const { tenancy, headers, hosts, orgIds, members } = await seededTenancy(organizations)
      const [scope, sent] = (
        {
          'koa-tenantry': [koaTenantScope(tenancy), headers],
          'koa-tenantry-host': [koaTenantScope(tenancy, { from: 'host', baseDomain: BASE_DOMAIN }), hosts],
          'koa-tenantry-resolver': [
            koaTenantScope(tenancy, { from: (ctx) => ({ id: ctx.headers['x-org'] as string }) }),
            orgIds,
          ],
          'koa-tenantry-member': [
            koaTenantScope(tenancy, {
              from: (ctx) => ({ id: ctx.headers['x-org'] as string }),
              member: (ctx) => ctx.headers['x-user'] as string,
            }),
            members,
          ],
          'koa-tenantry-context': [koaTenantScope(tenancy, { context: true }), headers],
        } as Record<string, [Koa.Middleware, Headers]>
      )[variant]!
      const app = new Koa().use(scope).use((ctx) => {
        ctx.body = { hello: ctx.state.tenant.name }
      })
      return { server: app.listen(0, '127.0.0.1'), ready: { headers: sent } }
    }
    case 'express-jsonwebtoken': {
      const { app, headers } = expressJsonwebtoken()
      return { server: listen(app), ready: { headers } }
    }
    case 'express-better-auth': {
      const { app, headers } = await expressBetterAuth()
      return { server: listen(app), ready: { headers } }
    }
    case 'login-storm':
    case 'login-storm-uncapped': {
      // Production defaults (bcrypt cost 10, the default hashing cap), or as many hashes at once
      // as libuv's thread pool runs (4), which is what bcrypt does with no cap in front.
      // Login throttling is off here: it would turn most of the storm into cheap 429s, and what
      // this measures is the hashing itself.
      const tenancy = createTenancy({
        auth: {
          secret: SECRET,
          loginLimits: { perAccount: false, perClient: false },
          ...(variant === 'login-storm-uncapped' ? { maxConcurrentHashes: 4 } : {}),
        },
      })
      await tenancy.orgs.create({ name: 'Storm', email: 'storm@bench.test', password: PASSWORD })
      const app = express()
        .use(orgRouter(tenancy))
        .get('/hello', (_req, res) => {
          res.json({ hello: 'cheap' })
        })
      return { server: listen(app), ready: { headers: [{}] } }
    }
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

const [variant = '', organizations = '1'] = process.argv.slice(2)
const { server, ready } = await start(variant, Number(organizations))
if (!server.listening) await once(server, 'listening')
process.send!({ ...ready, port: (server.address() as AddressInfo).port })

// The parent asks for the event loop's delay over a measured window.
const delay = monitorEventLoopDelay({ resolution: 1 })
// ...and for the CPU time this process spent over a measured window: a per-request cost that the
// other processes on this shared machine disturb far less than they disturb throughput.
let cpuAtReset = process.cpuUsage()
let threadAtReset = mainThreadMicros()
process.on('message', (message: string | { profile: 'start' | 'stop'; file: string }) => {
  if (typeof message === 'object') {
    void profile(message.profile, message.file).then(() => process.send!({ profiled: message.profile }))
  } else if (message === 'reset-cpu') {
    cpuAtReset = process.cpuUsage()
    threadAtReset = mainThreadMicros()
    process.send!({ cpuReset: true })
  } else if (message === 'report-cpu') {
    const { user, system } = process.cpuUsage(cpuAtReset)
    process.send!({ cpuMicros: user + system, mainThreadMicros: mainThreadMicros() - threadAtReset })
  } else if (message === 'reset-delay') {
    delay.reset()
    delay.enable()
    process.send!({ delayReset: true })
  } else if (message === 'report-delay') {
    delay.disable()
    process.send!({ delayP99Ms: delay.percentile(99) / 1e6, delayMaxMs: delay.max / 1e6 })
  }
})

/**
 * The CPU time of the main thread alone (user + system, in µs), where JavaScript runs: without
 * the garbage collector's and the compiler's helper threads, whose share of a few seconds
 * varies from process to process. Linux's /proc, in clock ticks (10 ms); NaN elsewhere.
 */
function mainThreadMicros(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100
  } catch {
    return Number.NaN
  }
}

// bench/profile.ts profiles the load only, not the start-up: V8's sampling profiler, as --cpu-prof.
const inspector = new Session()
function profile(step: 'start' | 'stop', file: string): Promise<void> {
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      inspector.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
    )
  if (step === 'start') {
    inspector.connect()
    return post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: Number(process.env.PROFILE_INTERVAL ?? 250) }))
      .then(() => post('Profiler.start'))
      .then(() => undefined)
  }
  return post('Profiler.stop').then((result) => {
    writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile))
    inspector.disconnect()
  })
}
