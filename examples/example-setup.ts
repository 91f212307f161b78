import { randomBytes } from 'node:crypto'
import { createTenancy, type MemoryCollection, type Tenancy, type TenantStore } from 'tenantry'

/** JWT_SECRET, or a random one for this run only (every token dies with the process). */
export function exampleSecret(): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET
  console.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits.')
  return randomBytes(32).toString('base64url')
}

export function printTryIt(framework: string, port: number, baseDomain: string): void {
  const base = `http://localhost:${port}`
  console.log(`tenantry ${framework} example listening on ${base}

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
`)
}

/** BASE_DOMAIN, or localhost: browsers and curl send acme.localhost to this machine. */
export const exampleBaseDomain = process.env.BASE_DOMAIN ?? 'localhost'

/**
 * The in-memory store, or MongoDB when MONGODB_URI is set (TENANCY_STRATEGY=database for a
 * database per tenant; the default is a collection per tenant).
 */
export async function exampleTenancy(): Promise<Tenancy<unknown>> {
  const options = { auth: { secret: exampleSecret() }, baseDomain: exampleBaseDomain }
  if (!process.env.MONGODB_URI) return createTenancy(options)
  const { MongoClient } = await import('mongodb')
  const { mongoStore } = await import('tenantry/mongodb')
  const db = (await MongoClient.connect(process.env.MONGODB_URI)).db()
  const byDate = { key: { createdAt: 1 }, name: 'createdAt' }
  const store: TenantStore<unknown> =
    process.env.TENANCY_STRATEGY === 'database'
      ? mongoStore({ db, strategy: 'database', indexes: { notes: [byDate] } })
      : mongoStore({ db, indexes: [byDate] })
  const tenancy = createTenancy({ ...options, store })
  // Finish or undo whatever a crash left in flight before serving.
  await tenancy.recover()
  console.log(`Using MongoDB (${process.env.TENANCY_STRATEGY === 'database' ? 'a database' : 'a collection'} per tenant).`)
  return tenancy
}

/**
 * The collection the notes live in: the tenant's own collection, or its "notes" collection when
 * each tenant has a database. The everyday methods are the same on the in-memory store.
 */
export function notesOf(data: unknown): MemoryCollection {
  const db = data as { collection?: (name: string) => unknown }
  return (typeof db.collection === 'function' ? db.collection('notes') : data) as MemoryCollection
}
