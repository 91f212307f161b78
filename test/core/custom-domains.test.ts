import { describe, expect, it } from 'vitest'
import { createTenancy, MAX_DOMAINS_PER_ORGANIZATION, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { DomainNotFoundError, DomainTakenError, OrganizationNotFoundError } = errors

async function setUp(options: { inFlightTimeoutMs?: number } = {}) {
  const tenancy = createTenancy({ auth: TEST_AUTH, baseDomain: ['example.test', 'example.org'], ...options })
  const acme = (await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })).organization
  const globex = (await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD }))
    .organization
  return { tenancy, acme, globex }
}

describe('custom domains', () => {
  it('stores a domain in one canonical form: IDNA, lower-case, no trailing dot', async () => {
    const { tenancy, acme } = await setUp()
    expect((await tenancy.admin.addDomain(acme.id, 'Bücher.Acme.COM.')).domain).toBe('xn--bcher-kva.acme.com')
    expect((await tenancy.tenant({ domain: 'xn--bcher-kva.acme.com' })).id).toBe(acme.id)
    expect((await tenancy.tenant({ domain: 'BÜCHER.acme.com' })).id).toBe(acme.id)
    expect(await tenancy.admin.listDomains(acme.id)).toEqual([
      { domain: 'xn--bcher-kva.acme.com', createdAt: expect.any(Date) },
    ])
  })

  it('refuses a domain at or under any base domain', async () => {
    const { tenancy, acme } = await setUp()
    for (const domain of ['example.test', 'shop.example.test', 'example.org', 'a.b.example.org']) {
      await expect(tenancy.admin.addDomain(acme.id, domain)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
    }
    expect(await tenancy.admin.listDomains(acme.id)).toEqual([])
  })

  it('keeps a domain unique across organizations, even under twenty concurrent claims', async () => {
    const { tenancy, acme, globex } = await setUp()
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => tenancy.admin.addDomain(i % 2 ? acme.id : globex.id, 'shop.contested.com')),
    )
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1)
    for (const result of results)
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(DomainTakenError)
  })

  it('removes a domain only for the organization that holds it', async () => {
    const { tenancy, acme, globex } = await setUp()
    await tenancy.admin.addDomain(acme.id, 'shop.acme.com')
    await expect(tenancy.admin.removeDomain(globex.id, 'shop.acme.com')).rejects.toBeInstanceOf(DomainNotFoundError)
    await expect(tenancy.admin.removeDomain(acme.id, 'not a domain')).rejects.toBeInstanceOf(DomainNotFoundError)
    expect((await tenancy.tenant({ domain: 'shop.acme.com' })).id).toBe(acme.id)
  })

  it('caps the domains of one organization', async () => {
    const { tenancy, acme } = await setUp()
    for (let i = 0; i < MAX_DOMAINS_PER_ORGANIZATION; i++) await tenancy.admin.addDomain(acme.id, `d${i}.acme.com`)
    await expect(tenancy.admin.addDomain(acme.id, 'one-more.acme.com')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    })
  })

  it('refuses domains for an organization that does not exist', async () => {
    const { tenancy } = await setUp()
    await expect(tenancy.admin.addDomain('no-such-id', 'shop.acme.com')).rejects.toBeInstanceOf(
      OrganizationNotFoundError,
    )
    await expect(tenancy.admin.listDomains('no-such-id')).rejects.toBeInstanceOf(OrganizationNotFoundError)
  })

  it('frees a domain whose holder was left mid-delete by a crash, once the in-flight timeout has passed', async () => {
    const { tenancy, acme, globex } = await setUp({ inFlightTimeoutMs: 0 })
    await tenancy.admin.addDomain(acme.id, 'shop.acme.com')
    await storeOf(tenancy).records.organizations.transition(acme.id, { from: ['active'], to: 'deleting' })
    expect((await tenancy.admin.addDomain(globex.id, 'shop.acme.com')).domain).toBe('shop.acme.com')
    expect((await tenancy.tenant({ domain: 'shop.acme.com' })).id).toBe(globex.id)
  })

  it('refuses a bad baseDomain at start-up', () => {
    for (const baseDomain of ['not a domain', '127.0.0.1', 'example.com/path', ''])
      expect(() => createTenancy({ auth: TEST_AUTH, baseDomain })).toThrow(TypeError)
    expect(createTenancy({ auth: TEST_AUTH, baseDomain: 'LocalHost' }).baseDomains).toEqual(['localhost'])
  })
})
