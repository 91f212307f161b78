import type { RequestListener } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy } from 'tenantry'
import { postgresRecords } from 'tenantry/postgres'
import type { Store } from 'tenantry/store'
import { createApp as expressApp } from '../../examples/express/app.js'
import { createApp as koaApp } from '../../examples/koa/app.js'
import { notesStore } from '../support/notes-store.js'
import { usePostgresDatabase } from '../support/postgres.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const database = usePostgresDatabase()
const STORES: [string, () => Store][] = [
  ['the memory store', () => notesStore()],
  [
    'PostgreSQL records',
    () => ({ records: postgresRecords({ pool: database.pool, schema: database.fresh() }), data: notesStore().data }),
  ],
]
const FRAMEWORKS: [string, (tenancy: Tenancy) => RequestListener][] = [
  ['Express', (tenancy) => expressApp(tenancy)],
  ['Koa', (tenancy) => koaApp(tenancy).callback()],
]

type Probe = [method: string, path: string, body?: unknown]
const json = (body: unknown) => ({ 'content-type': 'application/json', body: JSON.stringify(body) })

// Every route a caller with no token and no session can reach, aimed at Acme.
const NAMING_ACME: Probe[] = [
  ['GET', '/org/get?slug=acme'],
  ['GET', '/org/get?organization_name=ACME'],
  ['POST', '/org/create', { organization_name: 'Acme', email: 'mallory@evil.test', password: PASSWORD }],
  ['POST', '/org/create', { organization_name: 'Other', slug: 'acme', email: 'mallory@evil.test', password: PASSWORD }],
]
// Routes whose answers say nothing of whether Acme exists at all.
const BLIND: Probe[] = [
  ['POST', '/admin/login', { email: 'owner@acme.test', password: 'not the password' }],
  ['POST', '/admin/login', { email: 'owner@acme.test', password: 'not the password', organization_name: 'Acme' }],
  ['POST', '/admin/refresh', { refresh_token: 'x'.repeat(43) }],
  ['POST', '/org/invitations/accept', { token: 'x'.repeat(43), password: PASSWORD }],
  ['POST', '/my/org/create', { organization_name: 'Acme' }],
  ['GET', '/my/org/members'],
  ['GET', '/openapi.json'],
]

async function answers(server: RunningServer, probes: Probe[]) {
  const seen = []
  for (const [method, path, body] of probes) {
    const { 'content-type': type, body: payload } = body === undefined ? { 'content-type': undefined } : json(body)
    const response = await fetch(server.url + path, {
      method,
      headers: type ? { 'content-type': type } : {},
      body: payload,
    })
    const text = await response.text()
    seen.push({ probe: `${method} ${path}`, status: response.status, body: text === '' ? null : JSON.parse(text) })
  }
  return seen
}

const servers: RunningServer[] = []
afterAll(async () => {
  for (const server of servers) await server.close()
})

async function world(store: () => Store, app: (tenancy: Tenancy) => RequestListener, acme: boolean) {
  const tenancy = createTenancy({
    auth: { ...TEST_AUTH, signUpLimit: false },
    baseDomain: 'example.test',
    store: store(),
  })
  await tenancy.migrate()
  const created = acme
    ? await tenancy.orgs.create({ name: 'Acme', slug: 'acme', email: 'owner@acme.test', password: PASSWORD })
    : undefined
  const server = await startServer(app(tenancy))
  servers.push(server)
  return { tenancy, server, id: created?.organization.id }
}

for (const [storeName, store] of STORES)
  for (const [framework, app] of FRAMEWORKS)
    describe(`suspension told to no one (${framework}, ${storeName})`, () => {
      it('answers a stranger the same for an active and a suspended organization on every public route', async () => {
        const { tenancy, server, id } = await world(store, app, true)
        const active = await answers(server, [...NAMING_ACME, ...BLIND])
        await tenancy.admin.suspend(id!, { reason: 'invoice unpaid' })
        const suspended = await answers(server, [...NAMING_ACME, ...BLIND])
        expect(suspended).toEqual(active)
        // The lookup shows public fields only, and says nothing of the suspension.
        expect(active[0]).toMatchObject({ status: 200, body: { organization: { slug: 'acme' } } })
        expect(Object.keys(suspended[0]!.body.organization).sort()).toEqual([
          'created_at',
          'id',
          'name',
          'slug',
          'updated_at',
        ])
      })

      it('answers a stranger the same with the organization suspended or absent wherever existence is not public', async () => {
        const { tenancy, server, id } = await world(store, app, true)
        await tenancy.admin.suspend(id!, { reason: 'investigation' })
        const suspended = await answers(server, BLIND)
        const absent = await answers((await world(store, app, false)).server, BLIND)
        expect(suspended).toEqual(absent)
        // Whether a name or slug is taken is public by design (routes: { get: false, create: false } hide it).
        const [lookup] = await answers((await world(store, app, false)).server, NAMING_ACME.slice(0, 1))
        expect(lookup).toMatchObject({ status: 404, body: { code: 'ORGANIZATION_NOT_FOUND' } })
      })
    })
