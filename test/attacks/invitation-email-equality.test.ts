import type { RequestListener } from 'node:http'
import express from 'express'
import fc from 'fast-check'
import Koa from 'koa'
import { afterEach, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Tenancy } from 'tenantry'
import * as expressAdapter from 'tenantry/express'
import type { HostIdentity } from 'tenantry/http'
import * as koaAdapter from 'tenantry/koa'
import { TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const KELVIN = '\u212A'

// The host's signed-in user, as its session would say: here a header, base64url JSON so any
// Unicode address survives the trip.
const identityOf = (header: string | string[] | undefined): HostIdentity | null =>
  typeof header === 'string' ? (JSON.parse(Buffer.from(header, 'base64url').toString()) as HostIdentity) : null
const hosts: Record<string, (tenancy: Tenancy) => RequestListener> = {
  Express: (tenancy) =>
    express().use(expressAdapter.orgRouter(tenancy, { identify: (req) => identityOf(req.headers['x-user']) })),
  Koa: (tenancy) =>
    new Koa().use(koaAdapter.orgRouter(tenancy, { identify: (ctx) => identityOf(ctx.headers['x-user']) })).callback(),
}

let server: RunningServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

for (const [framework, host] of Object.entries(hosts)) {
  describe(`invitation emails on ${framework}`, () => {
    it('does not let the Kelvin sign stand in for k: only kate@ accepts kate@’s invitation', async () => {
      const tenancy = createTenancy({ auth: TEST_AUTH, store: memoryStore() })
      server = await startServer(host(tenancy))
      const as = (subject: string, email: string) => ({
        'content-type': 'application/json',
        'x-user': Buffer.from(JSON.stringify({ subject, email })).toString('base64url'),
      })
      const post = async (path: string, headers: Record<string, string>, body: unknown) => {
        const response = await fetch(server!.url + path, { method: 'POST', headers, body: JSON.stringify(body) })
        return { status: response.status, body: (await response.json()) as any }
      }
      await post('/org/create', as('user-ada', 'ada@acme.test'), { organization_name: 'Acme' })
      const { body: invited } = await post('/org/invitations', as('user-ada', 'ada@acme.test'), {
        email: 'kate@acme.test',
        role: 'member',
      })
      for (const [subject, email] of [
        ['user-kelvin', `${KELVIN}ate@acme.test`],
        ['user-kelvin', `${KELVIN}ATE@ACME.TEST`],
        ['user-mallory', 'mallory@acme.test'],
      ]) {
        const reply = await post('/org/invitations/accept', as(subject!, email!), { token: invited.token })
        expect(reply.status, email).not.toBe(200)
        expect(['VALIDATION_FAILED', 'INVITATION_INVALID']).toContain(reply.body.code)
      }
      const members = await fetch(`${server!.url}/org/members`, { headers: as('user-ada', 'ada@acme.test') })
      expect(((await members.json()) as { members: unknown[] }).members).toHaveLength(1)
      // Outer spaces and ASCII case are the only differences that still match.
      const kate = await post('/org/invitations/accept', as('user-kate', '  Kate@ACME.test '), { token: invited.token })
      expect(kate).toMatchObject({ status: 200, body: { member: { email: 'kate@acme.test' } } })
    })
  })
}

describe('the email rule', () => {
  // Two renderings of one ASCII address, each letter written as itself, in upper case, or as a
  // look-alike that Unicode case mapping or compatibility normalization turns into it.
  const variants: Record<string, [ascii: string[], lookAlikes: string[]]> = {
    k: [
      ['k', 'K'],
      [KELVIN, '\uFF4B'],
    ],
    s: [['s', 'S'], ['\u017F']],
    i: [
      ['i', 'I'],
      ['\u0130', '\u0131'],
    ],
    a: [['a', 'A'], ['\u00E0']],
  }
  const letter = (char: string) => {
    const [ascii, lookAlikes] = variants[char] ?? [[char], []]
    if (lookAlikes.length === 0) return fc.constant(char)
    return fc.oneof(
      { arbitrary: fc.constantFrom(...ascii), weight: 6 },
      { arbitrary: fc.constantFrom(...lookAlikes), weight: 1 },
    )
  }
  const base = fc
    .tuple(
      fc.string({ unit: fc.constantFrom('k', 's', 'i', 'a'), minLength: 1, maxLength: 4 }),
      fc.constantFrom('ik', 'as'),
    )
    .map(([local, domain]) => `${local}@${domain}`)
  const rendering = (address: string) => fc.tuple(...[...address].map(letter)).map((chars) => `${chars.join('')}.test`)
  const address = base.chain((plain) => rendering(plain))
  const pair = fc.oneof(
    base.chain((plain) => fc.tuple(rendering(plain), rendering(plain))),
    fc.tuple(address, address),
  )
  const asciiFold = (value: string) => value.trim().replace(/[A-Z]/g, (c) => c.toLowerCase())

  it('makes two addresses one account only when they differ at most in outer spaces and ASCII case', async () => {
    await fc.assert(
      fc.asyncProperty(pair, fc.constantFrom('', ' '), async ([first, second], pad) => {
        const tenancy = createTenancy({ auth: TEST_AUTH, store: memoryStore() })
        const linked = await tenancy.accounts.link({ subject: 'one', email: first }).then(
          () => true,
          (err: { code?: string }) => (err.code === 'VALIDATION_FAILED' ? false : Promise.reject(err)),
        )
        if (!linked) {
          // Refused addresses are those with a letter outside ASCII.
          expect(/^[\x21-\x7e]+$/.test(first)).toBe(false)
          return
        }
        const outcome = await tenancy.accounts.link({ subject: 'two', email: `${pad}${second}${pad}` }).then(
          () => 'linked',
          (err: { code?: string }) => err.code,
        )
        if (asciiFold(first) === asciiFold(second)) expect(outcome).toBe('ADMIN_EMAIL_TAKEN')
        else expect(outcome).not.toBe('ADMIN_EMAIL_TAKEN')
      }),
      { numRuns: 150 },
    )
  })
})
