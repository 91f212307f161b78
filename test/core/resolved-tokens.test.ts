import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore } from 'tenantry'
import { ResolvedTokens } from '../../src/context/resolved-tokens.js'
import type { MemberTenant } from '../../src/tenant.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { registryOf } from '../support/store-of.js'

const answer = (name: string) => ({ tenant: { name } as MemberTenant, epoch: 0, validUntil: Number.POSITIVE_INFINITY })
// Tokens that share their last 22 characters, as a forgery that keeps a genuine signature does.
const tail = '.0123456789abcdefghijklmnopqrstuvwxyz'

describe('ResolvedTokens', () => {
  it('answers only the exact token stored, not another that ends the same way', () => {
    const tokens = new ResolvedTokens(10)
    tokens.set(`genuine${tail}`, answer('Acme'))
    expect(tokens.get(`genuine${tail}`)?.tenant.name).toBe('Acme')
    expect(tokens.get(`forged!${tail}`)).toBeUndefined()
    expect(tokens.get(`genuine${tail}`.slice(1))).toBeUndefined()
  })

  it('keeps at most its bound, dropping the token stored longest ago first', () => {
    const tokens = new ResolvedTokens(2)
    tokens.set('token-one-ending-with-its-own-tail-1', answer('One'))
    tokens.set('token-two-ending-with-its-own-tail-2', answer('Two'))
    tokens.set('token-one-ending-with-its-own-tail-1', answer('One again'))
    tokens.set('token-three-ending-with-its-own-tail-3', answer('Three'))
    expect(tokens.get('token-two-ending-with-its-own-tail-2')).toBeUndefined()
    expect(tokens.get('token-one-ending-with-its-own-tail-1')?.tenant.name).toBe('One again')
    expect(tokens.get('token-three-ending-with-its-own-tail-3')?.tenant.name).toBe('Three')
  })

  it('holds no more tokens than cache.size however many distinct tokens are resolved', async () => {
    const tenancy = createTenancy({ store: memoryStore(), auth: TEST_AUTH, cache: { size: 3 } })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const tokens = []
    for (let i = 0; i < 5; i++)
      tokens.push((await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken)
    for (const token of tokens) await tenancy.authenticate(token)
    // The last three are answered synchronously, from the cache; the first two are checked again.
    const answers = tokens.map((token) => registryOf(tenancy).lookup(token))
    expect(answers.map((answer) => answer instanceof Promise)).toEqual([true, true, false, false, false])
    await Promise.all(answers)
  })
})
