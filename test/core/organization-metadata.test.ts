import { z } from 'zod'
import { describe, expect, it } from 'vitest'
import { createTenancy, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

async function acme(metadata?: Parameters<typeof createTenancy>[0]['metadata']) {
  const tenancy = createTenancy({ auth: TEST_AUTH, metadata })
  const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const owner = await tenancy.authenticate(
    (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
  )
  return { tenancy, organization, owner }
}

describe('organization metadata', () => {
  it('starts empty and is replaced by the owner or the back office', async () => {
    const { tenancy, organization, owner } = await acme()
    expect(organization.metadata).toEqual({})
    expect((await tenancy.orgs.update(owner, { metadata: { plan: 'pro', seats: 5 } })).metadata).toEqual({
      plan: 'pro',
      seats: 5,
    })
    expect(
      (await tenancy.admin.updateOrganization(organization.id, { metadata: { plan: 'enterprise' } })).metadata,
    ).toEqual({ plan: 'enterprise' })
    expect((await tenancy.orgs.get('Acme'))!.metadata).toEqual({ plan: 'enterprise' })
  })

  it('refuses what is not a small JSON object, changing nothing', async () => {
    const { tenancy, organization, owner } = await acme({ maxBytes: 64 })
    for (const metadata of [
      [1, 2],
      'plan',
      { $where: 'x' },
      { 'a.b': 1 },
      { big: 'x'.repeat(100) },
      { date: new Date() },
      { n: Number.NaN },
    ])
      await expect(
        tenancy.orgs.update(owner, { metadata: metadata as never }),
        JSON.stringify(metadata),
      ).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      })
    expect((await tenancy.admin.listOrganizations()).organizations[0]!.metadata).toEqual({})
    expect(organization.metadata).toEqual({})
  })

  it('passes metadata through the host’s schema, and stores what the schema answers', async () => {
    const schema = z.object({ plan: z.enum(['free', 'pro']), seats: z.number().int().default(1) })
    const { tenancy, owner } = await acme({ schema })
    await expect(tenancy.orgs.update(owner, { metadata: { plan: 'gold' } })).rejects.toBeInstanceOf(
      errors.ValidationError,
    )
    expect((await tenancy.orgs.update(owner, { metadata: { plan: 'pro' } })).metadata).toEqual({
      plan: 'pro',
      seats: 1,
    })
  })

  it('needs org:update to change it', async () => {
    const { tenancy, owner } = await acme()
    const { token } = await tenancy.invitations.invite(owner, { email: 'm@acme.test', role: 'member' })
    const { tokens } = await tenancy.invitations.accept({ token, password: PASSWORD })
    const member = await tenancy.authenticate(tokens.accessToken)
    await expect(tenancy.orgs.update(member, { metadata: { plan: 'free' } })).rejects.toBeInstanceOf(
      errors.PermissionDeniedError,
    )
  })
})
