import { bodyParser } from '@koa/bodyparser'
import Router from '@koa/router'
import Koa from 'koa'
import { z } from 'zod'
import type { Tenancy } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/koa'
import { notesOf } from '../example-setup.js'

const noteBody = z.strictObject({ text: z.string().trim().min(1).max(1000) })

/** A host app: tenantry's org routes at the root, plus its own tenant-scoped notes. */
export function createApp(tenancy: Tenancy<unknown>): Koa {
  const app = new Koa()
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
  app.use(orgRouter(tenancy))

  // Everything under /notes runs as the caller's tenant: ctx.state.tenant.data is its own collection.
  const notes = new Router({ prefix: '/notes' })
  notes.use(tenantScope(tenancy))
  notes.post('/', bodyParser({ enableTypes: ['json'], jsonLimit: '16kb' }), async (ctx) => {
    const parsed = noteBody.safeParse(ctx.request.body)
    if (!parsed.success) return problem(ctx, 400, 'Invalid note', z.prettifyError(parsed.error))
    const { insertedId } = await notesOf(ctx.state.tenant.data).insertOne({ text: parsed.data.text, createdAt: new Date() })
    ctx.status = 201
    ctx.body = { id: insertedId, text: parsed.data.text }
  })
  notes.get('/', async (ctx) => {
    const found = await notesOf(ctx.state.tenant.data).find({}, { sort: { createdAt: 1 } }).toArray()
    ctx.body = { notes: found.map((note) => ({ id: note._id, text: note.text })) }
  })
  app.use(notes.routes()).use(notes.allowedMethods())
  return app
}

function problem(ctx: Koa.Context, status: number, title: string, detail: string): void {
  ctx.status = status
  ctx.type = 'application/problem+json'
  ctx.body = JSON.stringify({ type: 'about:blank', title, status, detail })
}
