import fc from 'fast-check'
import { expect, it } from 'vitest'
import { describeAttack } from './host.js'
import { storeOf } from '../support/store-of.js'

// Values that look like what a client might send, or an attacker: strings with control
// characters, operator objects, deep and odd JSON.
const hostileValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.constantFrom('', ' ', 'a@b.test', 'Acme', 'correct horse battery', '$ne', '\u0000', '𝕬cme', 'admin@acme.test'),
  fc.record({ $ne: fc.constant(null) }),
  fc.jsonValue({ maxDepth: 3 }),
)
const body = fc.oneof(
  fc.dictionary(
    fc.constantFrom(
      'organization_name',
      'email',
      'password',
      'refresh_token',
      'text',
      'slug',
      'domain',
      'name',
      '__proto__',
      'constructor',
      '$where',
      'extra',
    ),
    hostileValue,
    { maxKeys: 5 },
  ),
  fc.jsonValue({ maxDepth: 4 }),
)
const headers = fc.record(
  {
    // VALID stands for the real admin's token, so authenticated routes see hostile bodies too.
    authorization: fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('VALID', 'VALID', 'Bearer', 'Bearer ', 'Basic x', 'Bearer a.b.c', 'bearer x.y.z'),
    ),
    'content-type': fc.constantFrom(
      'application/json',
      'text/plain',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded',
      'application/merge-patch+json',
    ),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', '::1', 'garbage'),
    'x-forwarded-host': fc.constantFrom('acme.example.test', 'evil.com', ''),
    'x-api-key': fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('ak_', 'ak_forged')),
  },
  { requiredKeys: [] },
)
const route = fc.constantFrom(
  ['POST', '/org/create'],
  ['GET', '/org/get?organization_name=Acme'],
  ['POST', '/admin/login'],
  ['POST', '/admin/refresh'],
  ['POST', '/admin/logout'],
  ['PUT', '/org/update'],
  ['DELETE', '/org/delete'],
  ['GET', '/org/audit'],
  ['GET', '/org/get?slug=acme'],
  ['POST', '/org/domains'],
  ['GET', '/org/domains'],
  ['DELETE', '/org/domains'],
  ['POST', '/admin/switch'],
  ['GET', '/org/members'],
  ['PATCH', '/org/members/x'],
  ['DELETE', '/org/members/x'],
  ['POST', '/org/leave'],
  ['POST', '/org/transfer-ownership'],
  ['POST', '/org/invitations'],
  ['GET', '/org/invitations'],
  ['DELETE', '/org/invitations/x'],
  ['POST', '/org/invitations/accept'],
  ['POST', '/app-users'],
  ['GET', '/api/notes'],
  ['GET', '/orgs/acme/notes'],
  ['GET', '/site'],
  ['POST', '/notes'],
  ['GET', '/notes'],
) as fc.Arbitrary<[string, string]>

describeAttack('a fuzz of every route’s body and headers', (host) => {
  it('never answers 500, and a 4xx never changes any state', async () => {
    const { email } = await host().tenant('Acme')
    // A fresh session each run, so a fuzzed logout or delete does not starve the runs after it.
    const freshToken = async () => {
      const tenancy = host().tenancy
      let account = await storeOf(tenancy).records.accounts.find({ email })
      if (!account) {
        await host().tenant('Acme')
        account = await storeOf(tenancy).records.accounts.find({ email })
      }
      const [membership] = await storeOf(tenancy).records.memberships.list({ accountId: account!.id })
      return (await tenancy.auth.startSession(membership!)).accessToken
    }
    await fc.assert(
      fc.asyncProperty(route, body, headers, fc.boolean(), async ([method, path], json, extraHeaders, sendBody) => {
        const accessToken = await freshToken()
        const before = await host().snapshot()
        const reply = await host().send(method, path, {
          raw: sendBody && method !== 'GET' ? JSON.stringify(json) : undefined,
          headers: Object.fromEntries(
            Object.entries(extraHeaders)
              .map(([name, value]) => [name, value === 'VALID' ? `Bearer ${accessToken}` : value])
              .filter(([, value]) => /^[\t\x20-\x7e]*$/.test(value!)),
          ),
        })
        expect(reply.status).toBeLessThan(500)
        if (reply.status >= 400) expect(await host().snapshot()).toBe(before)
      }),
      { numRuns: 400 },
    )
  })
})
