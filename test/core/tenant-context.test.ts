import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it, vi } from 'vitest'
import { createTenancy, currentTenant, requireTenant, type Tenancy, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { notesStore } from '../support/notes-store.js'
import { registryOf, storeOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { NoTenantContextError, OrganizationNotFoundError } = errors

async function tenancyWith(names: string[], options: { cacheSize?: number } = {}) {
  const tenancy = createTenancy({
    auth: TEST_AUTH,
    baseDomain: 'example.test',
    store: notesStore(),
    cache: options.cacheSize === undefined ? undefined : { size: options.cacheSize },
  })
  const ids: Record<string, string> = {}
  for (const name of names)
    ids[name] = (
      await tenancy.orgs.create({ name, email: `admin@${name.toLowerCase()}.test`, password: PASSWORD })
    ).organization.id
  return { tenancy, ids }
}

async function adminTenant(tenancy: Tenancy, name: string) {
  const { accessToken } = await tenancy.auth.login({ email: `admin@${name.toLowerCase()}.test`, password: PASSWORD })
  return tenancy.authenticate(accessToken)
}

describe('tenancy.tenant', () => {
  it('finds an active organization by id, slug, name or custom domain', async () => {
    const { tenancy, ids } = await tenancyWith(['Acme', 'Globex'])
    await tenancy.admin.addDomain(ids.Acme!, 'shop.acme.com')
    for (const ref of [
      { id: ids.Acme! },
      { slug: 'acme' },
      { slug: 'ACME' },
      { name: ' aCmE ' },
      { domain: 'Shop.Acme.com.' },
    ]) {
      const tenant = await tenancy.tenant(ref)
      expect(tenant).toMatchObject({ id: ids.Acme, name: 'Acme', slug: 'acme' })
      expect(tenant.member).toBeUndefined()
    }
  })

  it('answers OrganizationNotFoundError for what matches nothing', async () => {
    const { tenancy } = await tenancyWith(['Acme'])
    for (const ref of [
      { id: 'nope' },
      { slug: 'nope' },
      { slug: 'Not A Label' },
      { name: 'Nope' },
      { domain: 'nope.com' },
      { domain: '127.0.0.1' },
      { id: '' },
    ]) {
      await expect(tenancy.tenant(ref)).rejects.toBeInstanceOf(OrganizationNotFoundError)
    }
  })

  it('refuses a malformed reference as the host’s bug, with TypeError', async () => {
    const { tenancy } = await tenancyWith(['Acme'])
    for (const ref of [{}, { id: 'a', slug: 'b' }, { slug: 42 }, null, 'acme', { id: { $ne: null } }]) {
      expect(() => registryOf(tenancy).findSync(ref as never)).toThrow(TypeError)
    }
  })

  it('does not find an organization still being created', async () => {
    let seen: unknown = 'not called'
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      hooks: {
        async afterCreate(tenant) {
          seen = await tenancy.tenant({ id: tenant.id }).catch((err: unknown) => err)
        },
      },
    })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    expect(seen).toBeInstanceOf(OrganizationNotFoundError)
  })

  for (const cacheSize of [10_000, 0]) {
    describe(cacheSize === 0 ? 'with caching off' : 'from the cache', () => {
      it('sees a rename, a reslug, a domain removal and a delete on the very next call', async () => {
        const { tenancy, ids } = await tenancyWith(['Acme'], { cacheSize })
        const admin = await adminTenant(tenancy, 'Acme')
        await tenancy.admin.addDomain(ids.Acme!, 'shop.acme.com')
        for (const ref of [{ slug: 'acme' }, { name: 'Acme' }, { domain: 'shop.acme.com' }, { id: ids.Acme! }])
          await tenancy.tenant(ref)

        await tenancy.orgs.update(admin, { name: 'Acme Renamed' })
        await expect(tenancy.tenant({ name: 'Acme' })).rejects.toBeInstanceOf(OrganizationNotFoundError)
        expect((await tenancy.tenant({ slug: 'acme' })).name).toBe('Acme Renamed')

        await tenancy.orgs.update(admin, { slug: 'acme-inc' })
        await expect(tenancy.tenant({ slug: 'acme' })).rejects.toBeInstanceOf(OrganizationNotFoundError)
        expect((await tenancy.tenant({ slug: 'acme-inc' })).id).toBe(ids.Acme)

        await tenancy.admin.removeDomain(ids.Acme!, 'shop.acme.com')
        await expect(tenancy.tenant({ domain: 'shop.acme.com' })).rejects.toBeInstanceOf(OrganizationNotFoundError)

        await tenancy.orgs.delete(admin, 'Acme Renamed')
        for (const ref of [{ slug: 'acme-inc' }, { name: 'Acme Renamed' }, { id: ids.Acme! }])
          await expect(tenancy.tenant(ref)).rejects.toBeInstanceOf(OrganizationNotFoundError)
      })
    })
  }

  it('does not let a reference cached before a change ride on the organization’s entry re-cached after it', async () => {
    const { tenancy, ids } = await tenancyWith(['Acme'])
    const admin = await adminTenant(tenancy, 'Acme')
    await tenancy.admin.addDomain(ids.Acme!, 'shop.acme.com')
    for (const ref of [{ slug: 'acme' }, { name: 'Acme' }, { domain: 'shop.acme.com' }]) await tenancy.tenant(ref)
    await tenancy.orgs.update(admin, { name: 'Acme Renamed', slug: 'acme-inc' })
    await tenancy.admin.removeDomain(ids.Acme!, 'shop.acme.com')
    // The organization is cached again, by id, before the old references are used.
    await tenancy.tenant({ id: ids.Acme! })
    for (const ref of [{ slug: 'acme' }, { name: 'Acme' }, { domain: 'shop.acme.com' }])
      await expect(tenancy.tenant(ref)).rejects.toBeInstanceOf(OrganizationNotFoundError)
  })

  it('does not cache a reference whose lookup raced a reslug, even once the organization is cached anew', async () => {
    const base = notesStore()
    let paused: { read: () => void; release: Promise<void> } | undefined
    const organizations = base.records.organizations
    const store = {
      ...base,
      records: {
        ...base.records,
        organizations: {
          ...organizations,
          async find(query: Parameters<typeof organizations.find>[0]) {
            const record = await organizations.find(query)
            // Hold a slug lookup after it read the store, until the test lets it go on.
            if ('slug' in query && paused) {
              paused.read()
              await paused.release
            }
            return record
          },
        },
      },
    }
    const tenancy = createTenancy({ store, auth: TEST_AUTH })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'admin@acme.test', password: PASSWORD })
    const admin = await adminTenant(tenancy, 'Acme')
    let release!: () => void
    let read!: () => void
    const hasRead = new Promise<void>((resolve) => (read = resolve))
    paused = { read, release: new Promise<void>((resolve) => (release = resolve)) }
    const racing = tenancy.tenant({ slug: 'acme' })
    await hasRead
    paused = undefined
    await tenancy.orgs.update(admin, { slug: 'acme-inc' })
    await tenancy.tenant({ id: organization.id })
    release()
    await racing
    await expect(tenancy.tenant({ slug: 'acme' })).rejects.toBeInstanceOf(OrganizationNotFoundError)
  })

  it('sees a change another instance made to the store once the cache TTL has passed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const tenancy = createTenancy({ auth: TEST_AUTH, store: notesStore(), cache: { ttlMs: 5_000 } })
      const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'admin@acme.test', password: PASSWORD })
      expect((await tenancy.tenant({ slug: 'acme' })).name).toBe('Acme')
      // Another instance renames it: this one's cache is not told.
      await storeOf(tenancy).records.organizations.update(organization.id, {
        name: 'Acme Elsewhere',
        nameKey: 'acme elsewhere',
      })
      expect((await tenancy.tenant({ slug: 'acme' })).name).toBe('Acme')
      vi.setSystemTime(Date.now() + 5_001)
      expect((await tenancy.tenant({ slug: 'acme' })).name).toBe('Acme Elsewhere')
    } finally {
      vi.useRealTimers()
    }
  })

  it('never hands a freed slug’s cached tenant to the organization that takes the slug next', async () => {
    const { tenancy } = await tenancyWith(['Acme'])
    const acme = await adminTenant(tenancy, 'Acme')
    await acme.collection('notes').insertOne({ secret: 'acme' })
    expect((await tenancy.tenant({ slug: 'acme' })).id).toBe(acme.id)
    await tenancy.orgs.update(acme, { slug: 'acme-old' })
    const { organization } = await tenancy.orgs.create({
      name: 'New Acme',
      email: 'new@acme.test',
      password: PASSWORD,
      slug: 'acme',
    })
    const next = await tenancy.tenant({ slug: 'acme' })
    expect(next.id).toBe(organization.id)
    expect(await next.collection('notes').find({}).toArray()).toEqual([])
  })
})

describe('tenancy.run', () => {
  it('runs the function with the tenant as the current context, and none after', async () => {
    const { tenancy, ids } = await tenancyWith(['Acme'])
    expect(currentTenant()).toBeUndefined()
    const result = await tenancy.run({ slug: 'acme' }, async (tenant) => {
      await sleep(1)
      expect(currentTenant()).toBe(tenant)
      expect(requireTenant().id).toBe(ids.Acme)
      return 'done'
    })
    expect(result).toBe('done')
    expect(currentTenant()).toBeUndefined()
  })

  it('ends the context when the function throws, and passes the error on', async () => {
    const { tenancy } = await tenancyWith(['Acme'])
    const failure = new Error('job failed')
    await expect(
      tenancy.run({ slug: 'acme' }, async () => {
        await sleep(1)
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(currentTenant()).toBeUndefined()
    expect(() => requireTenant()).toThrow(NoTenantContextError)
    // The message tells a developer where the context comes from.
    expect(() => requireTenant()).toThrow(
      'no tenant context: call this inside tenancy.run(...) or a request scoped by tenantScope',
    )
  })

  it('gives each of 100 interleaved runs only its own tenant', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `Org${i}`)
    const { tenancy, ids } = await tenancyWith(names)
    const seen = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        tenancy.run({ id: ids[names[i % 10]!]! }, async (tenant) => {
          const observed: string[] = []
          for (let step = 0; step < 5; step++) {
            await sleep(Math.floor(Math.random() * 3))
            observed.push(requireTenant().id)
            await new Promise<void>((resolve) => setImmediate(resolve))
            observed.push(currentTenant()!.id)
          }
          return { expected: tenant.id, observed }
        }),
      ),
    )
    for (const { expected, observed } of seen) expect(new Set(observed)).toEqual(new Set([expected]))
    expect(new Set(seen.map((run) => run.expected)).size).toBe(10)
  })

  it('restores the outer tenant after a nested run', async () => {
    const { tenancy } = await tenancyWith(['Acme', 'Globex'])
    await tenancy.run({ slug: 'acme' }, async () => {
      await tenancy.run({ slug: 'globex' }, async () => expect(requireTenant().slug).toBe('globex'))
      expect(requireTenant().slug).toBe('acme')
    })
  })

  it('refuses a job for a deleted organization with OrganizationNotFoundError, never running it', async () => {
    const { tenancy, ids } = await tenancyWith(['Acme', 'Globex'])
    const job = { tenantId: ids.Acme! }
    await tenancy.orgs.delete(await adminTenant(tenancy, 'Acme'), 'Acme')
    let ran = false
    await expect(tenancy.run({ id: job.tenantId }, () => (ran = true))).rejects.toBeInstanceOf(
      OrganizationNotFoundError,
    )
    expect(ran).toBe(false)
    expect(currentTenant()).toBeUndefined()
  })

  it('takes a tenant tenantry handed out as is, but a hand-made one only as a reference', async () => {
    const { tenancy } = await tenancyWith(['Acme', 'Globex'])
    const acme = await tenancy.tenant({ slug: 'acme' })
    expect(await tenancy.run(acme, (tenant) => tenant)).toBe(acme)
    const globex = await tenancy.tenant({ slug: 'globex' })
    const forged = { id: acme.id, name: 'Acme', slug: 'acme', collection: globex.collection }
    await expect(tenancy.run(forged as never, () => 'ran')).rejects.toBeInstanceOf(TypeError)
  })

  it('throws NoTenantContextError with a stable code outside any context', () => {
    expect(() => requireTenant()).toThrow(expect.objectContaining({ code: 'NO_TENANT_CONTEXT' }))
  })
})

describe('references', () => {
  it('reads a reused reference object afresh each time, so changing it between calls names the new tenant', async () => {
    const { tenancy, ids } = await tenancyWith(['Acme', 'Globex'])
    const ref: { id: string } = { id: ids.Acme! }
    expect((await tenancy.tenant(ref)).slug).toBe('acme')
    ref.id = ids.Globex!
    expect((await tenancy.tenant(ref)).slug).toBe('globex')
    expect(await tenancy.run(ref, (tenant) => tenant.slug)).toBe('globex')
  })
})
