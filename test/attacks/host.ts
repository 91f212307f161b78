import { createHmac } from 'node:crypto'
import type { RequestListener } from 'node:http'
import { afterEach, beforeEach, describe } from 'vitest'
import { createTenancy, type AuthOptions, type Tenancy } from 'tenantry'
import { createApp as expressApp } from '../../examples/express/app.js'
import { createApp as koaApp } from '../../examples/koa/app.js'
import { PASSWORD, TEST_AUTH, TEST_SECRET } from '../support/secret.js'
import { requestWithHost, type HostReply } from '../support/request-with-host.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { notesStore } from '../support/notes-store.js'
import { exampleRoles } from '../../examples/example-setup.js'
import { storeOf } from '../support/store-of.js'

interface Reply {
  status: number
  headers: Headers
  body: any
}

interface SendOptions {
  json?: unknown
  raw?: string
  headers?: Record<string, string>
  token?: string
}

/** A host app (the example app, with its tenant-scoped /notes) on a real server, and what an attacker does to it. */
export interface Host {
  tenancy: Tenancy
  send(method: string, path: string, options?: SendOptions): Promise<Reply>
  /** A GET with the Host header (and other headers) the attacker chooses. */
  sendAs(host: string, path: string, headers?: Record<string, string>): Promise<HostReply>
  /** Creates an organization and logs its admin in. */
  tenant(name: string): Promise<{ email: string; accessToken: string; refreshToken: string; id: string }>
  /** Everything a request could change: organizations, admins, data spaces and every tenant's notes. */
  snapshot(): Promise<string>
}

const FRAMEWORKS: [string, (tenancy: Tenancy) => RequestListener][] = [
  ['Express', (tenancy) => expressApp(tenancy)],
  ['Koa', (tenancy) => koaApp(tenancy).callback()],
]

/** Runs an attack's tests against the Express and the Koa host, each with a fresh tenancy per test. */
export function describeAttack(
  title: string,
  body: (host: () => Host) => void,
  options: { auth?: Partial<AuthOptions> } = {},
): void {
  for (const [framework, createApp] of FRAMEWORKS) {
    describe(`${title} (${framework})`, () => {
      let server: RunningServer
      let host: Host
      beforeEach(async () => {
        const tenancy = createTenancy({
          auth: { ...TEST_AUTH, ...options.auth } as AuthOptions,
          baseDomain: 'example.test',
          store: notesStore(),
          roles: exampleRoles,
        })
        server = await startServer(createApp(tenancy))
        host = makeHost(server, tenancy)
      })
      afterEach(async () => {
        await server.close()
      })
      body(() => host)
    })
  }
}

function makeHost(server: RunningServer, tenancy: Tenancy): Host {
  const emails: string[] = []
  const send: Host['send'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.json !== undefined) headers['content-type'] ??= 'application/json'
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    const response = await fetch(server.url + path, {
      method,
      headers,
      body: options.json !== undefined ? JSON.stringify(options.json) : options.raw,
    })
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === '' ? undefined : JSON.parse(text)
    } catch {
      // Not JSON: keep the text.
    }
    return { status: response.status, headers: response.headers, body }
  }
  return {
    tenancy,
    send,
    sendAs: (host, path, headers) => requestWithHost(server.url, path, { host, headers }),
    async tenant(name) {
      const email = `admin@${name.toLowerCase().replace(/\W/g, '')}.test`
      emails.push(email)
      const created = await send('POST', '/org/create', {
        json: { organization_name: name, email, password: PASSWORD },
      })
      if (created.status !== 201) throw new Error(`create ${name}: ${created.status}`)
      const login = await send('POST', '/admin/login', { json: { email, password: PASSWORD } })
      return {
        email,
        id: created.body.organization.id,
        accessToken: login.body.access_token,
        refreshToken: login.body.refresh_token,
      }
    },
    async snapshot() {
      const organizations = []
      for await (const org of storeOf(tenancy).records.organizations.list()) {
        // A data space a delete already dropped has no notes to show.
        const notes = await Promise.resolve()
          .then(() => storeOf(tenancy).data.collection(org, 'notes').find({}).toArray())
          .catch((err: unknown) =>
            (err as { code?: string }).code === 'ORGANIZATION_NOT_FOUND' ? null : Promise.reject(err),
          )
        organizations.push({ org, notes, domains: await storeOf(tenancy).records.domains!.list(org.id) })
      }
      const admins = await Promise.all(emails.map((email) => storeOf(tenancy).records.accounts.find({ email })))
      return JSON.stringify({ organizations, admins, dataKeys: (await storeOf(tenancy).data.listKeys()).sort() })
    },
  }
}

/** Decodes a JWT's header and payload. */
export function decodeJwt(token: string): [Record<string, unknown>, Record<string, unknown>] {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
  return [header, payload]
}

/** Builds an HS256-style JWT from any header and payload, signed with `secret` (the test secret by default). */
export function forgeJwt(header: object, payload: object, secret: string | Buffer = TEST_SECRET): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

export { PASSWORD }
