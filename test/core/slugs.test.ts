import { describe, expect, it } from 'vitest'
import { createTenancy, DEFAULT_RESERVED_SLUGS, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

// The error classes a test names, from the namespace a host uses.
const { SlugTakenError } = errors

let emails = 0
const create = (tenancy: ReturnType<typeof createTenancy>, name: string, slug?: string) =>
  tenancy.orgs.create({ name, email: `admin${++emails}@x.test`, password: PASSWORD, slug })

describe('slugs', () => {
  it('derives a DNS label from any name', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    const cases: [string, RegExp][] = [
      ['Acme Corp', /^acme-corp$/],
      ['  Société Générale  ', /^societe-generale$/],
      ['--Hyphens--everywhere--', /^hyphens-everywhere$/],
      ['株式会社', /^org-[0-9a-f]{6}$/],
      ['a'.repeat(64), /^a{63}$/],
      [`${'Ab '.repeat(21)}x`, /^(ab-){20}ab$/],
    ]
    for (const [name, expected] of cases) {
      const { slug } = (await create(tenancy, name)).organization
      expect(slug).toMatch(expected)
      expect(slug).not.toMatch(/^-|-$/)
    }
  })

  it('never derives a reserved slug, and refuses one given', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    expect(DEFAULT_RESERVED_SLUGS).toContain('www')
    expect((await create(tenancy, 'WWW')).organization.slug).toMatch(/^www-[0-9a-f]{6}$/)
    await expect(create(tenancy, 'Admin Team', 'admin')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      issues: [{ pointer: '#/slug', detail: 'is reserved' }],
    })
    expect(await tenancy.orgs.get('Admin Team')).toBeNull()
  })

  it('takes the host’s own list of reserved slugs', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH, reservedSlugs: [...DEFAULT_RESERVED_SLUGS, 'billing-portal'] })
    await expect(create(tenancy, 'Billing', 'billing-portal')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    const open = createTenancy({ auth: TEST_AUTH, reservedSlugs: [] })
    expect((await create(open, 'Www')).organization.slug).toBe('www')
    expect(() => createTenancy({ auth: TEST_AUTH, reservedSlugs: ['Not A Label'] })).toThrow(TypeError)
  })

  it('refuses to reslug onto a reserved or taken slug, and changes nothing', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    await create(tenancy, 'Acme')
    await create(tenancy, 'Globex')
    const admin = await tenancy.authenticate(
      (await tenancy.auth.login({ email: `admin${emails - 1}@x.test`, password: PASSWORD })).accessToken,
    )
    await expect(tenancy.orgs.update(admin, { slug: 'api' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    await expect(tenancy.orgs.update(admin, { slug: 'globex' })).rejects.toBeInstanceOf(SlugTakenError)
    expect((await tenancy.tenant({ id: admin.id })).slug).toBe('acme')
  })

  it('lets exactly one of twenty concurrent creates claiming one slug win', async () => {
    const tenancy = createTenancy({ auth: TEST_AUTH })
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => create(tenancy, `Racer ${i}`, 'contested')),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results) if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(SlugTakenError)
    expect((await tenancy.admin.listOrganizations()).organizations).toHaveLength(1)
  })
})
