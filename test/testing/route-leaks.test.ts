import { randomUUID } from 'node:crypto'
import express from 'express'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore } from 'tenantry'
import { orgRouter, tenantScope } from 'tenantry/express'
import { probeRouteLeak, type ProbedRoute, type RouteLeakOptions } from 'tenantry/testing'
import { TEST_AUTH } from '../support/secret.js'

type Flaw = 'none' | 'lists everyone' | 'deletes anyone' | 'tells foreign from missing'

/** A small host app whose notes live in one process-wide map, with one deliberate flaw (or none). */
function notesApp(flaw: Flaw): RouteLeakOptions['app'] {
  return () => {
    const tenancy = createTenancy({ auth: TEST_AUTH, store: memoryStore() })
    const notes = new Map<string, { tenantId: string; text: string }>()
    const app = express()
    app.use(orgRouter(tenancy))
    app.use('/notes', tenantScope(tenancy), express.json())
    app.post('/notes', (req, res) => {
      const id = randomUUID()
      notes.set(id, { tenantId: req.tenant.id, text: String(req.body.text) })
      res.status(201).json({ id })
    })
    app.get('/notes', (req, res) => {
      const visible = [...notes.values()].filter((note) => flaw === 'lists everyone' || note.tenantId === req.tenant.id)
      res.json({ notes: visible.map((note) => note.text) })
    })
    app.get('/notes/:id', (req, res) => {
      const note = notes.get(req.params.id)
      if (note && note.tenantId !== req.tenant.id && flaw === 'tells foreign from missing')
        return void res.status(403).end()
      if (!note || note.tenantId !== req.tenant.id) return void res.status(404).end()
      res.json({ text: note.text })
    })
    app.delete('/notes/:id', (req, res) => {
      const note = notes.get(req.params.id)
      if (note && (note.tenantId === req.tenant.id || flaw === 'deletes anyone')) notes.delete(req.params.id)
      res.status(204).end()
    })
    return { listener: app, tenancy }
  }
}

const routes: ProbedRoute[] = [
  { method: 'GET', path: '/notes' },
  { method: 'GET', path: '/notes/{victimId}' },
  { method: 'DELETE', path: '/notes/{victimId}' },
]
const options = (flaw: Flaw): RouteLeakOptions => ({
  name: flaw,
  app: notesApp(flaw),
  seed: [
    { method: 'POST', path: '/notes', body: { text: '{marker}' }, createdId: (body) => (body as { id: string }).id },
  ],
  routes,
})

describe('the route leak probe', () => {
  it('passes an app that keeps each tenant to its own notes, on every route', async () => {
    for (const index of routes.keys()) await probeRouteLeak(options('none'), index)
  })

  it('fails a list route that answers with another tenant’s data', async () => {
    await expect(probeRouteLeak(options('lists everyone'), 0)).rejects.toThrow("carries the victim's data")
  })

  it('fails a route that tells another tenant’s record from a missing one', async () => {
    await expect(probeRouteLeak(options('tells foreign from missing'), 1)).rejects.toThrow(
      'depends on whether the victim has data',
    )
  })

  it('fails a route that changes another tenant’s data by its id', async () => {
    await expect(probeRouteLeak(options('deletes anyone'), 2)).rejects.toThrow("the victim's view changed")
  })
})
