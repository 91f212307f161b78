import type { RequestListener } from 'node:http'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import type { ProbedRoute, RouteLeakOptions, SignInContext } from 'tenantry/testing'
import { exampleRoles } from '../../examples/example-setup.js'
import { TEST_AUTH } from '../support/secret.js'

/** The examples' own tenant-scoped routes, as their leak probe calls them. */
const exampleRoutes: ProbedRoute[] = [
  { method: 'GET', path: '/notes' },
  { method: 'POST', path: '/notes', body: { text: 'written by {marker}' } },
  { method: 'GET', path: '/api/notes' },
  { method: 'GET', path: '/orgs/{slug}/notes' },
  { method: 'GET', path: '/orgs/{victimSlug}/notes' },
  { method: 'POST', path: '/orgs/{slug}/notes', body: { text: 'written by {marker}' } },
  { method: 'POST', path: '/orgs/{victimSlug}/notes', body: { text: 'written by {marker}' } },
  { method: 'GET', path: '/site', headers: { host: '{victimSlug}.localhost' } },
  { method: 'POST', path: '/app-users', body: { name: '{marker}' } },
]

/** A fresh example app over an empty memory store; the member signs in with a token and gets an API key. */
export function exampleLeakOptions(
  name: string,
  listenerOf: (tenancy: Tenancy) => RequestListener,
): Omit<RouteLeakOptions, 'routes'> & { routes: ProbedRoute[] } {
  return {
    name,
    app: () => {
      const tenancy = createTenancy({
        auth: TEST_AUTH,
        baseDomain: 'localhost',
        roles: exampleRoles,
        store: memoryStore({ collections: { notes: { indexes: [{ key: { createdAt: 1 } }] } } }),
      })
      return { listener: listenerOf(tenancy), tenancy }
    },
    signIn: signInWithApiKey,
    seed: [{ method: 'POST', path: '/notes', body: { text: '{marker}' } }],
    routes: exampleRoutes,
  }
}

async function signInWithApiKey({ baseUrl, email, password }: SignInContext): Promise<Record<string, string>> {
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return (await response.json()) as Record<string, string>
  }
  const { access_token: token } = await post('/admin/login', { email, password })
  const authorization = `Bearer ${token}`
  const { api_key: apiKey } = await post('/app-users', { name: 'Probe user' }, { authorization })
  return { authorization, 'x-api-key': apiKey! }
}
