import { describe, expect, it } from 'vitest'
import { createTenancy, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

describe('a flood of sign-ups', () => {
  it('is cut off per client address at the sign-up limit, apart from logins', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD }, { clientAddress: '10.0.0.9' })
    const flood = await Promise.allSettled(
      Array.from({ length: 25 }, (_, i) =>
        tenancy.orgs.create(
          { name: `Spam ${i}`, email: `spam${i}@x.test`, password: PASSWORD },
          { clientAddress: '10.0.0.1' },
        ),
      ),
    )
    const refused = flood.filter((result) => result.status === 'rejected')
    expect(flood.filter((result) => result.status === 'fulfilled')).toHaveLength(20)
    for (const result of refused)
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(errors.TooManyRequestsError)
    // Another client still signs up, and the account still logs in, from the flooded address too.
    await tenancy.orgs.create(
      { name: 'Globex', email: 'g@globex.test', password: PASSWORD },
      { clientAddress: '10.0.0.2' },
    )
    await expect(
      tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD }, { clientAddress: '10.0.0.1' }),
    ).resolves.toMatchObject({ tokenType: 'Bearer' })
  })

  it('never fills the queue logins hash in: with every new-password slot taken, a login still answers', async () => {
    const tenancy = createTenancy({
      auth: { ...TEST_AUTH, bcryptCost: 8, maxConcurrentHashes: 1, maxQueuedHashes: 2, signUpLimit: false },
    })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    let refusals = 0
    const flood = Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        tenancy.orgs.create({ name: `Spam ${i}`, email: `spam${i}@x.test`, password: PASSWORD }).catch((err) => {
          refusals++
          throw err
        }),
      ),
    )
    // Once the flood is being refused, every new-password slot is taken.
    while (refusals === 0) await new Promise((resolve) => setImmediate(resolve))
    const login = tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    await expect(login).resolves.toMatchObject({ tokenType: 'Bearer' })
    const results = await flood
    // The flood itself met the full queue: some of it was refused, the login was not.
    expect(results.some((result) => result.status === 'rejected')).toBe(true)
  })
})
