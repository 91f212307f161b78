import express, { type ErrorRequestHandler } from 'express'
import { z } from 'zod'
import type { Tenancy } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/express'
import { notesOf } from '../example-setup.js'

const noteBody = z.strictObject({ text: z.string().trim().min(1).max(1000) })

/** A host app: tenantry's org routes at the root, plus its own tenant-scoped notes. */
export function createApp(tenancy: Tenancy<unknown>): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.use(orgRouter(tenancy))

  // Everything under /notes runs as the caller's tenant: req.tenant.data is its own collection.
  const notes = express.Router()
  notes.use(tenantScope(tenancy))
  notes.post('/', express.json({ limit: '16kb' }), async (req, res) => {
    const parsed = noteBody.safeParse(req.body)
    if (!parsed.success) return problem(res, 400, 'Invalid note', z.prettifyError(parsed.error))
    const { insertedId } = await notesOf(req.tenant.data).insertOne({ text: parsed.data.text, createdAt: new Date() })
    res.status(201).json({ id: insertedId, text: parsed.data.text })
  })
  notes.get('/', async (req, res) => {
    const found = await notesOf(req.tenant.data).find({}, { sort: { createdAt: 1 } }).toArray()
    res.json({ notes: found.map((note) => ({ id: note._id, text: note.text })) })
  })
  app.use('/notes', notes)

  // express.json() rejects malformed or oversized bodies by throwing; answer those as problems too.
  const onError: ErrorRequestHandler = (err, _req, res, next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : undefined
    if (status === undefined) return next(err)
    problem(res, status, 'Bad request', String(err.message))
  }
  app.use(onError)
  return app
}

function problem(res: express.Response, status: number, title: string, detail: string): void {
  res.status(status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title, status, detail }))
}
