/**
 * What `tenantScope` itself adds to a request, in a process of its own and with no HTTP around
 * it: ns per call of the token scope with a cached token against a middleware that only sets
 * an object, on Express's or (`koa` as the argument) Koa's signature. The Authorization headers are copies made at
 * run time, as a request's are, and few enough to stay in the CPU's cache, as a header the
 * parser has just written is; the token the scope looks up is cut from the header anew on every
 * call, so no hash a string remembers makes a call cheaper than a request's. Prints JSON.
 */
import { createTenancy } from 'tenantry'
import { tenantScope as expressTenantScope } from 'tenantry/express'
import { tenantScope as koaTenantScope } from 'tenantry/koa'
import { PASSWORD, SECRET } from './constants.js'

const CALLS = 200_000
const COPIES = 256
const ROUNDS = 5

// A TTL longer than the run: every call here takes the cached path, which is what is timed.
const tenancy = createTenancy({ auth: { secret: SECRET, bcryptCost: 4 }, cache: { ttlMs: 3_600_000 } })
await tenancy.orgs.create({ name: 'Org 0', email: 'a@bench.test', password: PASSWORD })
const { accessToken } = await tenancy.auth.login({ email: 'a@bench.test', password: PASSWORD })
const header = `Bearer ${accessToken}`
const copies = Array.from({ length: COPIES }, () => Buffer.from(header).toString('latin1'))
await tenancy.authenticate(accessToken) // cached, as on every request but the first

type Middleware = (request: any, next: () => unknown) => unknown
const FIXED_TENANT = Object.freeze({ id: 'org-0', name: 'Org 0' })
// One framework per process, as in a server: code shared by both adapters sees one caller.
const framework = process.argv[2] === 'koa' ? 'koa' : 'express'
const scope = framework === 'koa' ? koaTenantScope(tenancy) : expressTenantScope(tenancy)
const variants: Record<string, Middleware> =
  framework === 'koa'
    ? {
        noop: (ctx, next) => {
          ctx.state.tenant = FIXED_TENANT
          return next()
        },
        tenantry: (ctx, next) => (scope as ReturnType<typeof koaTenantScope>)(ctx, next as never),
      }
    : {
        noop: (req, next) => {
          req.tenant = FIXED_TENANT
          next()
        },
        tenantry: (req, next) => (scope as ReturnType<typeof expressTenantScope>)(req, {} as never, next as never),
      }

/** ns per call; each request object made beforehand, so only the middleware is timed. */
function time(middleware: Middleware): number {
  // Shaped as both frameworks' request: Express reads req.headers, Koa ctx.req.headers.
  const requests = Array.from({ length: CALLS }, (_, i) => {
    const headers = { authorization: copies[i % COPIES] }
    return { headers, req: { headers }, state: {} as any }
  })
  const next = () => undefined
  const start = process.hrtime.bigint()
  for (const request of requests) middleware(request, next)
  return Number(process.hrtime.bigint() - start) / CALLS
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, middleware] of Object.entries(variants)) {
    const ns = time(middleware)
    if (round > 0) samples[name]!.push(ns) // round 0 warms the JIT up
  }
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, median(list)]))))
