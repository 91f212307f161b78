import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

// A host script that uses the package the way an app would, and prints what it saw. The 401
// from tenantScope proves the adapter and the core share one copy of the error classes: with
// two copies, `instanceof TenantryError` fails and the error escapes as a 500.
const hostScript = (load: string) => `
${load}
const tenancy = createTenancy({ auth: { secret: 'packed-secret-packed-secret-packed!', bcryptCost: 4 }, store: memoryStore({ collections: { notes: {} } }) })
const app = express()
app.use(orgRouter(tenancy))
app.get('/notes', tenantScope(tenancy), async (req, res) => res.json({ tenant: req.tenant.name, count: await req.tenant.collection('notes').countDocuments() }))
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port
  const json = { 'content-type': 'application/json' }
  const created = await fetch(base + '/org/create', { method: 'POST', headers: json, body: JSON.stringify({ organization_name: 'Packed', email: 'p@packed.test', password: 'correct horse battery' }) })
  const login = await (await fetch(base + '/admin/login', { method: 'POST', headers: json, body: JSON.stringify({ email: 'p@packed.test', password: 'correct horse battery' }) })).json()
  const scoped = await (await fetch(base + '/notes', { headers: { authorization: 'Bearer ' + login.access_token } })).json()
  const denied = await fetch(base + '/notes', { headers: { authorization: 'Bearer x.y.z' } })
  let sameErrorClass = false
  try { tenancy.auth.verifyAccessToken('x.y.z') } catch (err) { sameErrorClass = err instanceof TenantryError && err.code === 'TOKEN_INVALID' }
  // tenantry/http maps an error the core threw: one copy of the classes across that subpath too.
  const problem = toProblem(new errors.TenantIsolationError('refused'))
  // tenantry/testing is ESM only, as vitest is: the CommonJS host has none.
  const testing = typeof failingStore === 'undefined' ? 'none' : typeof failingStore
  console.log(JSON.stringify({ created: created.status, scoped, denied: denied.status, deniedType: denied.headers.get('content-type'), sameErrorClass, problem: problem && problem.status, mongoStore: typeof mongoStore, redisLoginLimits: typeof redisLoginLimits, testing }))
  server.close()
})
`

const typedConsumer = `
import express from 'express'
import Koa from 'koa'
import { createTenancy, currentTenant, memoryStore, requireTenant, type Document, type TenantCollection, type TenantRef } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/express'
import * as koaAdapter from 'tenantry/koa'

const tenancy = createTenancy({ auth: { secret: process.env.JWT_SECRET! }, baseDomain: 'example.com', store: memoryStore({ collections: { notes: {} } }) })
const app = express()
app.use(orgRouter(tenancy, { bodyLimit: 4096 }))
app.get('/notes', tenantScope(tenancy), async (req, res) => {
  const data: TenantCollection<Document> = req.tenant.collection('notes')
  const name: string = req.tenant.name
  // @ts-expect-error the tenant is typed, not any
  req.tenant.collection('notes').noSuchMethod()
  // @ts-expect-error a tenant collection has no way to the database
  req.tenant.collection('notes').db
  const slug: string = req.tenant.slug
  // @ts-expect-error the admin is known only when a token identified the tenant
  const adminId: string = req.tenant.adminId
  res.json({ name, slug, adminId, notes: await data.find({}).toArray() })
})
app.get('/site', tenantScope(tenancy, { from: 'host', authorize: (req, tenant) => req.hostname.startsWith(tenant.slug) }), (req, res) => {
  res.json({ slug: req.tenant.slug })
})
app.get('/orgs/:slug', tenantScope(tenancy, { from: (req) => ({ slug: String(req.params.slug) }), context: true }), async (_req, res) => {
  const inContext = requireTenant().collection('notes')
  res.json({ count: await inContext.countDocuments({}), maybe: currentTenant()?.id })
})
// @ts-expect-error a reference names one thing of an organization
const badRef: TenantRef = { name: 42 }
void tenancy.run({ slug: 'acme' }, async (tenant) => tenant.collection('notes').countDocuments({})).then((count: number) => count)
const koa = new Koa()
koa.use(koaAdapter.orgRouter(tenancy))
koa.use(koaAdapter.tenantScope(tenancy, { from: (ctx) => (ctx.get('x-org') ? { slug: ctx.get('x-org') } : null) }))
koa.use(async (ctx) => {
  ctx.body = await ctx.state.tenant.collection('notes').countDocuments({})
})
// @ts-expect-error auth options are required
createTenancy({})
`

// A host registers its collections' documents once; every tenant handle picks them up.
const registeredConsumer = `
import express from 'express'
import { createTenancy, memoryStore } from 'tenantry'
import { tenantScope } from 'tenantry/express'

interface Invoice { [key: string]: unknown; number: number; total: number }
declare module 'tenantry' {
  interface Register { collections: { invoices: Invoice } }
}

const tenancy = createTenancy({ auth: { secret: process.env.JWT_SECRET! }, store: memoryStore({ collections: { invoices: {} } }) })
express().get('/invoices', tenantScope(tenancy), async (req, res) => {
  const invoices = req.tenant.collection('invoices')
  await invoices.insertOne({ number: 1, total: 10 })
  // @ts-expect-error a document of the wrong shape
  await invoices.insertOne({ number: 'one', total: 10 })
  // @ts-expect-error a name not declared is a type error
  req.tenant.collection('invoicez')
  const first = await invoices.findOne({ number: 1 })
  const total: number | undefined = first?.total
  res.json({ total })
})
`

describe('the packed package', () => {
  let app: string

  beforeAll(() => {
    if (!existsSync(join(root, 'dist/index.js')))
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
    app = mkdtempSync(join(tmpdir(), 'tenantry-packed-'))
    execFileSync('npm', ['pack', '--pack-destination', app], { cwd: root, stdio: 'pipe' })
    const tarball = readdirSync(app).find((file) => file.endsWith('.tgz'))!
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module' }))
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        `./${tarball}`,
        'express@5',
        'koa@3',
        '@types/express@5',
        '@types/koa@3',
        '@types/node@20',
        'typescript@5.9',
        'vitest@4',
      ],
      { cwd: app, stdio: 'pipe' },
    )
  }, 180_000)

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true })
  })

  const run = (file: string, source: string) => {
    writeFileSync(join(app, file), source)
    return JSON.parse(execFileSync('node', [file], { cwd: app, encoding: 'utf8' }).trim().split('\n').at(-1)!)
  }
  // mongoStore and redisLoginLimits load without the mongodb driver or a Redis client installed.
  const expected = {
    created: 201,
    scoped: { tenant: 'Packed', count: 0 },
    denied: 401,
    deniedType: 'application/problem+json',
    sameErrorClass: true,
    problem: 400,
    mongoStore: 'function',
    redisLoginLimits: 'function',
  }

  it('works from ESM with one copy of the core shared by the adapters', () => {
    const load = `import express from 'express'\nimport { createTenancy, errors, memoryStore, TenantryError } from 'tenantry'\nimport { toProblem } from 'tenantry/http'\nimport { orgRouter, tenantScope } from 'tenantry/express'\nimport { mongoStore } from 'tenantry/mongodb'\nimport { redisLoginLimits } from 'tenantry/redis'\nimport { failingStore } from 'tenantry/testing'`
    expect(run('host.mjs', hostScript(load))).toEqual({ ...expected, testing: 'function' })
  })

  it('works from CommonJS with one copy of the core shared by the adapters', () => {
    const load = `const express = require('express')\nconst { createTenancy, errors, memoryStore, TenantryError } = require('tenantry')\nconst { toProblem } = require('tenantry/http')\nconst { orgRouter, tenantScope } = require('tenantry/express')\nconst { mongoStore } = require('tenantry/mongodb')\nconst { redisLoginLimits } = require('tenantry/redis')`
    expect(run('host.cjs', hostScript(load))).toEqual({ ...expected, testing: 'none' })
  })

  it('types req.tenant and ctx.state.tenant for a TypeScript host, from ESM, from CommonJS and with a registered data type', () => {
    writeFileSync(join(app, 'consumer.mts'), typedConsumer)
    writeFileSync(join(app, 'registered.mts'), registeredConsumer)
    writeFileSync(
      join(app, 'consumer.cts'),
      typedConsumer.replace(/^import (\w+) from '(express|koa)'$/gm, "import $1 = require('$2')"),
    )
    const tsc = join(app, 'node_modules/typescript/bin/tsc')
    // One program per module system, as a real project is one or the other. skipLibCheck keeps
    // third-party typing drift (@types/koa) out; our types are exercised by the code itself.
    const flags = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
    ]
    for (const file of ['consumer.mts', 'consumer.cts', 'registered.mts']) {
      expect(
        () => execFileSync('node', [tsc, ...flags, file], { cwd: app, encoding: 'utf8', stdio: 'pipe' }),
        file,
      ).not.toThrow()
    }
  })

  it('type-checks its own declarations with skipLibCheck off under @types/node 20 through the newest, and leaks no any', () => {
    // What a host that checks libraries sees: every .d.ts of the core entry is compiled.
    writeFileSync(
      join(app, 'strict-consumer.mts'),
      `import { createTenancy, type TenantCollection } from 'tenantry'
import type { IdOf, RecordStore, Store } from 'tenantry/store'
import { describeStore, failingStore, type StoreUnderTest } from 'tenantry/testing'
const tenancy = createTenancy({ auth: { secret: process.env.JWT_SECRET! } })
// A third-party store is written against tenantry/store and proven with tenantry/testing alone.
declare const records: RecordStore
declare const data: Store['data']
const subject: StoreUnderTest = { name: 'third party', create: () => ({ records, data }) }
void describeStore
void failingStore({ records, data }).store
const [key] = tenancy.auth.jwks().keys
// No any leaks from the JWKS: a member that is not a string is a type error.
// @ts-expect-error kty is a string
const kty: number = key!.kty
const jwk = key
type Invoice = { [key: string]: unknown; _id: string; total: number }
const id: IdOf<Invoice> = 'invoice-1'
declare const invoices: TenantCollection<Invoice>
void invoices.insertOne({ _id: id, total: 1 }).then(({ insertedId }) => insertedId.toUpperCase())
export { kty, jwk, subject }
`,
    )
    const tsc = join(app, 'node_modules/typescript/bin/tsc')
    const flags = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      'strict-consumer.mts',
    ]
    for (const version of ['20', '22', '24', 'latest']) {
      execFileSync(
        'npm',
        ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', `@types/node@${version}`],
        { cwd: app, stdio: 'pipe' },
      )
      const installed = JSON.parse(
        execFileSync('node', ['-p', "JSON.stringify(require('./node_modules/@types/node/package.json').version)"], {
          cwd: app,
          encoding: 'utf8',
        }),
      )
      try {
        execFileSync('node', [tsc, ...flags], { cwd: app, encoding: 'utf8', stdio: 'pipe' })
      } catch (err) {
        throw new Error(`@types/node ${installed}: ${(err as { stdout?: string }).stdout}`)
      }
    }
  }, 180_000)

  it('ships only dist and package metadata', () => {
    const listing = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' })
    const files: string[] = JSON.parse(listing)[0].files.map((file: { path: string }) => file.path)
    expect(
      files.filter(
        (file) => !file.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md'].includes(file),
      ),
    ).toEqual([])
  })
})
