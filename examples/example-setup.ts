import { randomBytes } from 'node:crypto'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'

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

  # The app's own sign-in (a session cookie; tenantry's routes under /my, no bearer token).
  # Or open ${base}/sign-in in a browser.
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

/**
 * The in-memory store, or MongoDB when MONGODB_URI is set. TENANCY_STRATEGY picks how tenants'
 * data is kept: 'prefix' (default) or 'database' on MongoDB, 'isolated' (default) or 'shared' in
 * memory, and 'shared' on both.
 */
/** The example's roles: every member reads notes; an editor also writes them. Owners and admins may do anything. */
export const exampleRoles = { member: ['notes:read'], editor: ['notes:read', 'notes:write'] }

export async function exampleTenancy(): Promise<Tenancy> {
  const options = { auth: { secret: exampleSecret() }, baseDomain: exampleBaseDomain, roles: exampleRoles }
  const strategy = process.env.TENANCY_STRATEGY
  if (!process.env.MONGODB_URI)
    return createTenancy({
      ...options,
      store: memoryStore({ collections: exampleCollections, strategy: strategy === 'shared' ? 'shared' : 'isolated' }),
    })
  const { MongoClient } = await import('mongodb')
  const { mongoStore } = await import('tenantry/mongodb')
  const db = (await MongoClient.connect(process.env.MONGODB_URI)).db()
  const mongoStrategy = strategy === 'database' || strategy === 'shared' ? strategy : 'prefix'
  const tenancy = createTenancy({
    ...options,
    store: mongoStore({ db, strategy: mongoStrategy, collections: exampleCollections }),
  })
  // Finish or undo whatever a crash left in flight before serving.
  await tenancy.recover()
  console.log(`Using MongoDB (strategy '${mongoStrategy}').`)
  return tenancy
}
