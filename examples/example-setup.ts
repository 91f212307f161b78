import { randomBytes } from 'node:crypto'
import { createTenancy, memoryStore, type Tenancy, type TenancyOptions } from 'tenantry'
import { collectionNotes, NOTES_TABLE, NOTES_TABLE_PER_TENANT, sqlNotes, type Notes } from './notes.js'

/** JWT_SECRET, or a random one for this run only (every token dies with the process). */
function exampleSecret(): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET
  console.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits.')
  return randomBytes(32).toString('base64url')
}

/** SESSION_SECRET, or a random one for this run only (every session ends with the process). */
export function exampleSessionSecret(): string {
  return process.env.SESSION_SECRET ?? randomBytes(32).toString('base64url')
}

export function printTryIt(framework: string, port: number, baseDomain: string): void {
  const base = `http://localhost:${port}`
  console.log(`tenantry ${framework} example listening on ${base}

API docs: ${base}/docs (the OpenAPI document: ${base}/openapi.json)

Try it:
  curl -s -X POST ${base}/org/create -H 'content-type: application/json' \\
    -d '{"organization_name":"Acme","email":"admin@acme.test","password":"correct horse battery"}'
  TOKEN=$(curl -s -X POST ${base}/admin/login -H 'content-type: application/json' \\
    -d '{"email":"admin@acme.test","password":"correct horse battery"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -X POST ${base}/notes -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"text":"hello"}'
  curl -s ${base}/notes -H "authorization: Bearer $TOKEN"

  # The organization's own subdomain (host strategy):
  curl -s http://acme.${baseDomain}:${port}/site

  # The app's own users: an API key for an employee of Acme, then its notes (resolver strategy)
  KEY=$(curl -s -X POST ${base}/app-users -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
    -d '{"name":"Ada"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).api_key')
  curl -s ${base}/api/notes -H "x-api-key: $KEY"
  curl -s ${base}/orgs/acme/notes -H "x-api-key: $KEY"

  # On PostgreSQL instead of memory: TENANCY_STORE=postgres [TENANCY_STRATEGY=schema] [DATABASE_URL=...] npm start

  # The app's own sign-in (a session cookie; tenantry's routes under /my, no bearer token).
  # Or open ${base}/sign-in in a browser. The sign-up does not verify email addresses.
  curl -s -c jar -X POST ${base}/sign-up -H 'content-type: application/json' \
    -d '{"email":"ada@acme.test","password":"correct horse battery"}'
  curl -s -b jar -X POST ${base}/my/org/create -H 'content-type: application/json' -d '{"organization_name":"Globex"}'
  curl -s -b jar -X POST ${base}/orgs/globex/notes -H 'content-type: application/json' -d '{"text":"hi"}'
  curl -s -b jar ${base}/my/org/members
`)
}

/** BASE_DOMAIN, or localhost: browsers and curl send acme.localhost to this machine. */
export const exampleBaseDomain = process.env.BASE_DOMAIN ?? 'localhost'

/** Every tenant has a notes collection, ordered by creation. */
const exampleCollections = { notes: { indexes: [{ key: { createdAt: 1 as const }, name: 'createdAt' }] } }

/** A note as the examples store it; `Register` below makes `tenant.collection('notes')` typed with it. */
interface NoteDoc {
  [key: string]: unknown
  text?: string
  createdAt?: Date
}

declare module 'tenantry' {
  interface Register {
    collections: { notes: NoteDoc }
  }
}

/** The example's roles: every member reads notes; an editor also writes them. Owners and admins may do anything. */
export const exampleRoles = { member: ['notes:read'], editor: ['notes:read', 'notes:write'] }

/**
 * The in-memory store, MongoDB when MONGODB_URI is set, or PostgreSQL when TENANCY_STORE is
 * `postgres` (DATABASE_URL, default the local server). TENANCY_STRATEGY picks how tenants' data
 * is kept: 'prefix' (default) or 'database' on MongoDB, 'isolated' (default) or 'shared' in
 * memory, 'shared' on both; 'rls' (default) or 'schema' on PostgreSQL. Returns the tenancy and
 * how its store keeps notes.
 */
export async function exampleTenancy(): Promise<{ tenancy: Tenancy; notes: Notes; close?: () => Promise<void> }> {
  const options = {
    auth: { secret: exampleSecret() },
    baseDomain: exampleBaseDomain,
    roles: exampleRoles,
    ...(await exampleCache()),
  }
  const strategy = process.env.TENANCY_STRATEGY
  if (process.env.TENANCY_STORE === 'postgres') return { ...(await postgresTenancy(options)), notes: sqlNotes }
  if (!process.env.MONGODB_URI)
    return {
      tenancy: createTenancy({
        ...options,
        store: memoryStore({
          collections: exampleCollections,
          strategy: strategy === 'shared' ? 'shared' : 'isolated',
        }),
      }),
      notes: collectionNotes,
    }
  const { MongoClient } = await import('mongodb')
  const { mongoStore } = await import('tenantry/mongodb')
  const db = (await MongoClient.connect(process.env.MONGODB_URI)).db()
  const mongoStrategy = strategy === 'database' || strategy === 'shared' ? strategy : 'prefix'
  const tenancy = createTenancy({
    ...options,
    store: mongoStore({ db, strategy: mongoStrategy, collections: exampleCollections }),
  })
  // An example starts as a deploy would: indexes built (a release step in production, run once
  // per deploy), then whatever a crash left in flight finished or undone, before serving.
  await tenancy.migrate()
  await tenancy.recover()
  console.log(`Using MongoDB (strategy '${mongoStrategy}').`)
  return { tenancy, notes: collectionNotes }
}

/**
 * With REDIS_URL, every instance of the app tells the others of each change (a logout, a role
 * change, a delete) through Redis, on TENANTRY_REDIS_CHANNEL (default tenantry:invalidate).
 */
async function exampleCache(): Promise<Pick<TenancyOptions, 'cache'>> {
  if (!process.env.REDIS_URL) return {}
  const { Redis } = await import('ioredis')
  const { redisInvalidation } = await import('tenantry/redis')
  const client = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 })
  // Until its subscription is up (it connects when the tenancy is made), every lookup reads the store.
  return { cache: { invalidation: redisInvalidation({ client, channel: process.env.TENANTRY_REDIS_CHANNEL }) } }
}

/**
 * A pool as the app's own role. tenantry refuses a superuser (its checks would not apply to it), so
 * when DATABASE_URL names one, as the local default does, the example plays the DBA once: a
 * database `tenantry_example`, owned by a login role `tenantry_example_app` that cannot create
 * roles, with the documented set-up (`postgresSetupSql`), and connects as that role.
 */
async function appPool(pg: typeof import('pg').default, url: string): Promise<import('pg').Pool> {
  const admin = new pg.Client({ connectionString: url })
  await admin.connect()
  try {
    const { rows } = await admin.query<{ rolsuper: boolean }>(
      'select rolsuper from pg_roles where rolname = current_user',
    )
    if (!rows[0]?.rolsuper) return new pg.Pool({ connectionString: url })
    const { postgresSetupSql } = await import('tenantry/postgres')
    const app = 'tenantry_example_app'
    const { rowCount } = await admin.query("select 1 from pg_database where datname = 'tenantry_example'")
    if (!rowCount) {
      console.warn(
        `DATABASE_URL connects as a superuser: making database tenantry_example for role ${app} (see docs/stores.md).`,
      )
      await admin.query(
        `do $$ begin if not exists (select from pg_roles where rolname = '${app}') then create role ${app} login; end if; end $$`,
      )
      await admin.query(`create database tenantry_example owner ${app}`)
      const target = new URL(url)
      target.pathname = '/tenantry_example'
      const dba = new pg.Client({ connectionString: target.toString() })
      await dba.connect()
      try {
        await dba.query(`grant create on schema public to ${app}`)
        for (const statement of postgresSetupSql({
          group: 'tenantry_example_tenant',
          admin: 'tenantry_example_roles',
          callers: [app],
        }))
          await dba.query(statement)
      } finally {
        await dba.end()
      }
    }
    const own = new URL(url)
    own.pathname = '/tenantry_example'
    own.username = app
    own.password = ''
    return new pg.Pool({ connectionString: own.toString() })
  } finally {
    await admin.end()
  }
}

async function postgresTenancy(
  options: Omit<TenancyOptions, 'store'>,
): Promise<{ tenancy: Tenancy; close: () => Promise<void> }> {
  const { default: pg } = await import('pg')
  const { postgresStore } = await import('tenantry/postgres')
  const pool = await appPool(pg, process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  // An idle connection the server closed (a restart, a failover) is logged; the pool makes another.
  pool.on('error', (err) => console.error(`PostgreSQL: ${err.message}`))
  // TENANTRY_SCHEMA: where tenantry keeps its own tables (default tenantry); its roles are named after it.
  const schema = process.env.TENANTRY_SCHEMA
  const store =
    process.env.TENANCY_STRATEGY === 'schema'
      ? postgresStore({ pool, schema, strategy: 'schema', migrations: [NOTES_TABLE_PER_TENANT] })
      : postgresStore({ pool, schema, strategy: 'rls', migrations: [NOTES_TABLE], tables: ['notes'] })
  const tenancy = createTenancy({ ...options, store })
  await tenancy.migrate()
  await tenancy.recover()
  console.log(`Using PostgreSQL (strategy '${process.env.TENANCY_STRATEGY === 'schema' ? 'schema' : 'rls'}').`)
  return { tenancy, close: () => pool.end() }
}
