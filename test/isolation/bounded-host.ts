/**
 * A host that runs whatever pipeline a tenant sends, on Express and on Koa, over one memory store:
 * run as a child process with a small heap (`node --max-old-space-size=256 --import tsx`), it prints
 * one line of JSON (the two servers' addresses and the tenants' slugs) and serves until killed.
 */
import { fileURLToPath } from 'node:url'
import bodyParser from '@koa/bodyparser'
import express from 'express'
import Koa from 'koa'
import { createTenancy, type Document, memoryStore, type Tenancy } from 'tenantry'
import { tenantScope as expressScope } from 'tenantry/express'
import { toProblem } from 'tenantry/http'
import { tenantScope as koaScope } from 'tenantry/koa'
import type { ReadOptions } from 'tenantry/store'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer } from '../support/start-server.js'

/** The store's own time limit, well under the 10.5 s the first attack ran for. */
export const HOST_MAX_TIME_MS = 2000
/** The heap the child runs with: at the default allowance, the attacks once aborted it. */
export const HOST_HEAP_MB = 256

export interface HostAddresses {
  express: string
  koa: string
  /** The attacker's slug, then the bystander's. */
  slugs: [string, string]
}

interface QueryBody {
  pipeline: Document[]
  options?: ReadOptions
}

async function answer(tenancy: Tenancy, slug: string, body: QueryBody) {
  try {
    const notes = (await tenancy.tenant({ slug })).collection('notes')
    return { status: 200, headers: {}, body: await notes.aggregate(body.pipeline, body.options).toArray() }
  } catch (err) {
    const problem = toProblem(err)
    if (!problem) throw err
    return problem
  }
}

async function main(): Promise<void> {
  const tenancy = createTenancy({
    store: memoryStore({ strategy: 'shared', collections: { notes: {} }, maxTimeMS: HOST_MAX_TIME_MS }),
    auth: TEST_AUTH,
  })
  const slugs: string[] = []
  for (const name of ['Attacker', 'Bystander']) {
    const { organization } = await tenancy.orgs.create({
      name,
      email: `admin@${name.toLowerCase()}.test`,
      password: PASSWORD,
    })
    const notes = (await tenancy.tenant({ id: organization.id })).collection('notes')
    await notes.insertMany(Array.from({ length: 40 }, (_, i) => ({ text: `${name} note ${i}`, n: i })))
    slugs.push(organization.slug)
  }

  const viaExpress = express()
  viaExpress.post(
    '/query',
    expressScope(tenancy, { from: (req) => ({ slug: String(req.headers['x-tenant']) }) }),
    express.json({ limit: '5mb' }),
    async (req, res) => {
      const { status, headers, body } = await answer(tenancy, req.tenant.slug, req.body as QueryBody)
      res.status(status).set(headers).send(body)
    },
  )

  const viaKoa = new Koa()
  viaKoa.use(bodyParser({ jsonLimit: '5mb' }))
  viaKoa.use(koaScope(tenancy, { from: (ctx) => ({ slug: String(ctx.get('x-tenant')) }) }))
  viaKoa.use(async (ctx) => {
    const { status, headers, body } = await answer(tenancy, ctx.state.tenant.slug, ctx.request.body as QueryBody)
    ctx.status = status
    ctx.set(headers)
    ctx.body = body
  })

  const addresses: HostAddresses = {
    express: (await startServer(viaExpress)).url,
    koa: (await startServer(viaKoa.callback())).url,
    slugs: slugs as [string, string],
  }
  process.stdout.write(`${JSON.stringify(addresses)}\n`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
