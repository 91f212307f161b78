import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { usePostgresDatabase } from '../support/postgres.js'

const root = resolve(import.meta.dirname, '../..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
/** The oldest pg the peer range (`^8.11.0`) admits. */
const OLDEST_PG = '8.11.0'
const database = usePostgresDatabase()

/**
 * A host app in a temp dir with `packages` installed from the registry, and the built package
 * copied into its node_modules (a copy, not a link: `pg` must resolve from the app's own
 * node_modules). tenantry's own dependencies are links to this checkout's.
 */
function hostApp(packages: string[]): string {
  const app = mkdtempSync(join(tmpdir(), 'tenantry-pg-'))
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'host-app', private: true }))
  npm(app, ['install', '--no-audit', '--no-fund', '--prefer-offline', ...packages])
  const installed = join(app, 'node_modules/tenantry')
  mkdirSync(installed)
  cpSync(join(root, 'package.json'), join(installed, 'package.json'))
  cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true })
  for (const dependency of Object.keys(manifest.dependencies))
    symlinkSync(join(root, 'node_modules', dependency), join(app, 'node_modules', dependency), 'dir')
  return app
}

const npm = (cwd: string, args: string[]) => execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8' })

/**
 * What a host does with `tenantry/postgres`: two organizations on 'rls', a row each through
 * `tenant.query` and `tenant.transaction`, each read back; and how many statements (round trips)
 * one warm `tenant.query` sent. `load` binds pg, createTenancy and postgresStore.
 */
const hostScript = (load: string) => `
${load}
const Pool = process.env.PG_DRIVER === 'native' ? pg.native.Pool : pg.Pool
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4 })
const { SCHEMA: schema, TENANT_ROLE: tenantRole } = process.env
const store = postgresStore({
  pool, schema, strategy: 'rls', tenantRole,
  migrations: ['create table ' + schema + '_notes (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))'],
  tables: [schema + '_notes'],
})
const tenancy = createTenancy({ auth: { secret: 'pg-versions-secret-pg-versions-secret!', bcryptCost: 4 }, store })
const notes = schema + '_notes'
const bodies = async (tenant) => (await tenant.query('select body from ' + notes + ' order by id')).rows.map((row) => row.body)
const run = async () => {
  await tenancy.migrate()
  for (const name of ['Acme', 'Globex']) await tenancy.orgs.create({ name, email: name.toLowerCase() + '@x.test', password: 'correct horse battery' })
  const [acme, globex] = [await tenancy.tenant({ name: 'Acme' }), await tenancy.tenant({ name: 'Globex' })]
  await acme.query('insert into ' + notes + ' (id, body) values ($1, $2)', [1, "acme's note"])
  const inTransaction = await globex.transaction(async (client) => {
    await client.query('insert into ' + notes + ' (id, body) values ($1, $2)', [1, 'globex note'])
    return (await client.query('select count(*)::int as n from ' + notes)).rows[0].n
  })
  const Client = process.env.PG_DRIVER === 'native' ? pg.native.Client : pg.Client
  const query = Client.prototype.query
  let statements = 0
  Client.prototype.query = function (...args) { statements++; return query.apply(this, args) }
  await acme.query('select 1')
  Client.prototype.query = query
  return { pg: require('pg/package.json').version, acme: await bodies(acme), globex: await bodies(globex), inTransaction, statements }
}
run().then(
  (seen) => { console.log(JSON.stringify(seen)); return pool.end() },
  (err) => { console.log(JSON.stringify({ error: err.constructor.name, code: err.code, message: err.message })); return pool.end() },
)
`

const ESM = `import { createRequire } from 'node:module'
import pg from 'pg'
import { createTenancy } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
const require = createRequire(import.meta.url)`
const CJS = `const pg = require('pg')
const { createTenancy } = require('tenantry')
const { postgresStore } = require('tenantry/postgres')`

/** Runs the host script in `app` against a schema and tenant role of its own; answers what it printed. */
function runHost(app: string, file: string, load: string, driver: 'js' | 'native') {
  writeFileSync(join(app, file), hostScript(load))
  const output = execFileSync('node', [file], {
    cwd: app,
    encoding: 'utf8',
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      PG_DRIVER: driver,
      SCHEMA: database.fresh(),
      TENANT_ROLE: database.role(),
    },
  })
  return JSON.parse(output.trim().split('\n').at(-1)!)
}

const seen = (pg: string, statements: number) => ({
  pg,
  acme: ["acme's note"],
  globex: ['globex note'],
  inTransaction: 1,
  statements,
})

beforeAll(() => {
  if (!existsSync(join(root, 'dist/postgres.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)')
})

describe(`tenantry/postgres on the oldest pg of the peer range (${OLDEST_PG})`, () => {
  let app: string
  beforeAll(() => {
    app = hostApp([`pg@${OLDEST_PG}`])
  }, 180_000)
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true })
  })

  // One statement per tenant.query: begin, settings, the statement, commit and the check in one batch.
  it('loads from ESM and runs tenant queries and transactions', () => {
    expect(runHost(app, 'host.mjs', ESM, 'js')).toEqual(seen(OLDEST_PG, 1))
  })

  it('loads from CommonJS and runs tenant queries and transactions', () => {
    expect(runHost(app, 'host.cjs', CJS, 'js')).toEqual(seen(OLDEST_PG, 1))
  })
})

describe('tenantry/postgres on pg-native (pg.native.Pool), the documented fallback', () => {
  let app: string
  const pg = manifest.devDependencies.pg!.replace(/^\^/, '')
  beforeAll(() => {
    // pg-native's libpq binding is built by an install script (node-gyp, libpq-dev); npm versions
    // that hold install scripts back for approval are told to run this one.
    app = hostApp([`pg@${pg}`, 'pg-native@3'])
    if (!existsSync(join(app, 'node_modules/libpq/build/Release/addon.node')))
      npm(app, ['rebuild', 'libpq', '--foreground-scripts'])
  }, 180_000)
  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true })
  })

  // libpq sends one statement string per round trip: begin and the settings, the statement, commit, and
  // DISCARD ALL (which may not share a string with COMMIT: a multi-statement string is one transaction block).
  it('runs tenant queries and transactions in four round trips a query', () => {
    expect(runHost(app, 'host.mjs', ESM, 'native')).toEqual(seen(pg, 4))
  })
})
