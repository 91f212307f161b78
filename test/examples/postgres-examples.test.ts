import { afterEach, describe, expect, it } from 'vitest'
import { createPeople } from '../../examples/app-users.js'
import { exampleTenancy } from '../../examples/example-setup.js'
import { createApp as createExpressApp } from '../../examples/express/app.js'
import { createApp as createKoaApp } from '../../examples/koa/app.js'
import { PASSWORD } from '../support/secret.js'
import { sessionBrowser } from '../support/session-browser.js'
import { usePostgresDatabase } from '../support/postgres.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const database = usePostgresDatabase()

let server: RunningServer | undefined
let close: (() => Promise<void>) | undefined
const saved = { ...process.env }
afterEach(async () => {
  await server?.close()
  await close?.()
  server = undefined
  close = undefined
  process.env = { ...saved }
})

const apps = {
  Express: (setup: Awaited<ReturnType<typeof exampleTenancy>>) =>
    createExpressApp(setup.tenancy, { notes: setup.notes, people: createPeople({ bcryptCost: 4 }) }),
  Koa: (setup: Awaited<ReturnType<typeof exampleTenancy>>) =>
    createKoaApp(setup.tenancy, { notes: setup.notes, people: createPeople({ bcryptCost: 4 }) }).callback(),
}

describe('the examples on PostgreSQL (TENANCY_STORE=postgres)', () => {
  for (const [framework, app] of Object.entries(apps))
    for (const strategy of ['rls', 'schema'] as const)
      it(`serve each signed-in person their own organization’s notes on ${framework}, strategy '${strategy}'`, async () => {
        // As the example's server.ts reads them; each run in a schema of its own.
        Object.assign(process.env, {
          TENANCY_STORE: 'postgres',
          TENANCY_STRATEGY: strategy,
          TENANTRY_SCHEMA: database.fresh(),
          DATABASE_URL: database.url,
        })
        const setup = await exampleTenancy()
        close = setup.close
        server = await startServer(app(setup))
        const [ada, bob] = [sessionBrowser(server.url), sessionBrowser(server.url)]
        for (const [who, email, organization] of [
          [ada, 'ada@acme.test', 'Acme'],
          [bob, 'bob@globex.test', 'Globex'],
        ] as const) {
          expect((await who.send('POST', '/sign-up', { email, password: PASSWORD })).status).toBe(201)
          expect((await who.send('POST', '/my/org/create', { organization_name: organization })).status).toBe(201)
        }
        expect((await ada.send('POST', '/orgs/acme/notes', { text: 'acme plans' })).status).toBe(201)
        expect((await bob.send('POST', '/orgs/globex/notes', { text: 'globex plans' })).status).toBe(201)
        expect((await ada.send('GET', '/orgs/acme/notes')).body).toEqual({
          organization: 'acme',
          notes: ['acme plans'],
        })
        expect((await bob.send('GET', '/orgs/globex/notes')).body).toEqual({
          organization: 'globex',
          notes: ['globex plans'],
        })
        expect((await ada.send('GET', '/orgs/globex/notes')).status).toBe(403)
        // The next run (another strategy, another adapter) starts from an empty database.
        await server.close()
        server = undefined
        await database.pool.query('drop table if exists public.notes')
      })
})
