import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createTenancy, memoryStore, type TenancyOptions, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { failingStore } from 'tenantry/testing'
import { holdNextRead } from '../support/hold-next-read.js'
import { registryOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { TokenExpiredError, TokenInvalidError } = errors

async function acme(options: Partial<TenancyOptions> = {}) {
  const tenancy = createTenancy({ store: memoryStore(), auth: TEST_AUTH, ...options })
  await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
  const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
  return { tenancy, token: accessToken, tenant: await tenancy.authenticate(accessToken) }
}

describe('TenantRegistry', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('resolves the same token to the same tenant again and again', async () => {
    const { tenancy, token, tenant } = await acme()
    for (let i = 0; i < 3; i++) expect(await tenancy.authenticate(token)).toEqual(tenant)
  })

  it('never honours a cached token past its own expiry', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { tenancy, token } = await acme({ auth: { ...TEST_AUTH, expiresIn: 60 } })
    vi.setSystemTime(Date.now() + 61_000)
    await expect(tenancy.authenticate(token)).rejects.toBeInstanceOf(TokenExpiredError)
  })

  it('shows a rename on the very next request', async () => {
    const { tenancy, token, tenant } = await acme()
    await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
    expect((await tenancy.authenticate(token)).name).toBe('Acme Renamed')
  })

  it('refuses a cached token on the very next request after a password change or a delete', async () => {
    const first = await acme()
    await first.tenancy.orgs.update(first.tenant, { password: 'another fine passphrase' })
    await expect(first.tenancy.authenticate(first.token)).rejects.toBeInstanceOf(TokenInvalidError)

    const second = await acme()
    await second.tenancy.orgs.delete(second.tenant, 'Acme')
    await expect(second.tenancy.authenticate(second.token)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('does not cache what a lookup read before a concurrent change', async () => {
    const store = memoryStore()
    const { tenancy, token, tenant } = await acme({ store, cache: { size: 100, ttlMs: 60_000 } })
    // A rename empties the cache; then the next organization lookup is held until another rename has completed.
    await tenancy.orgs.update(tenant, { name: 'Acme Two' })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const findOrganization = store.records.organizations.find
    store.records.organizations.find = async (query) => {
      const found = await findOrganization(query)
      await gate
      return found
    }
    const slow = tenancy.authenticate(token)
    store.records.organizations.find = findOrganization
    await tenancy.orgs.update(tenant, { name: 'Acme Renamed' })
    release()
    expect((await slow).name).toBe('Acme Two')
    expect((await tenancy.authenticate(token)).name).toBe('Acme Renamed')
  })

  it('does not cache a slug read before a reslug that raced it: the old slug stops at once', async () => {
    const store = memoryStore()
    const { tenancy, tenant } = await acme({ store, cache: { size: 100, ttlMs: 60_000 } })
    const { reached, release } = holdNextRead(store, 'organizations.find')
    const slow = tenancy.tenant({ slug: 'acme' })
    // The lookup has read the organization under its old slug before the reslug begins.
    await reached
    await tenancy.orgs.update(tenant, { slug: 'acme-two' })
    release()
    // It answers what it read (the request began before the change) but keeps nothing of it.
    await expect(slow).resolves.toMatchObject({ id: tenant.id, slug: 'acme' })
    await expect(tenancy.tenant({ slug: 'acme' })).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
    await expect(tenancy.tenant({ slug: 'acme-two' })).resolves.toMatchObject({ id: tenant.id })
  })

  it('does not cache a custom domain read before its removal raced it: the domain stops at once', async () => {
    const store = memoryStore()
    const { tenancy, tenant } = await acme({ store, cache: { size: 100, ttlMs: 60_000 } })
    await tenancy.admin.addDomain(tenant.id, 'shop.acme.com')
    // A domain lookup reads the domain, then its organization: it is held after both reads.
    const { reached, release } = holdNextRead(store, 'organizations.find')
    const slow = tenancy.tenant({ domain: 'shop.acme.com' })
    await reached
    await tenancy.admin.removeDomain(tenant.id, 'shop.acme.com')
    release()
    await expect(slow).resolves.toMatchObject({ id: tenant.id })
    await expect(tenancy.tenant({ domain: 'shop.acme.com' })).rejects.toMatchObject({
      code: 'ORGANIZATION_NOT_FOUND',
    })
  })

  it('answers a repeated lookup synchronously, with the very same frozen tenant', async () => {
    const { tenancy, token } = await acme()
    const first = registryOf(tenancy).lookup(token)
    const again = registryOf(tenancy).lookup(token)
    expect(again).not.toBeInstanceOf(Promise)
    expect(again).toBe(await first)
    expect(Object.isFrozen(again)).toBe(true)
    // Another organization's change empties the resolved-token cache, not this tenant's parts: still synchronous.
    await tenancy.orgs.create({ name: 'Globex', email: 'g@globex.test', password: PASSWORD })
    const globex = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'g@globex.test', password: PASSWORD })).accessToken,
    )
    await tenancy.orgs.update(globex, { name: 'Globex Two' })
    const afterOtherChange = registryOf(tenancy).lookup(token)
    expect(afterOtherChange).not.toBeInstanceOf(Promise)
    expect(afterOtherChange).toMatchObject({ id: (await first).id, name: 'Acme' })
  })

  it('says why a token stopped working: organization gone, membership removed, role changed, password changed, session ended', async () => {
    const deleted = await acme()
    await deleted.tenancy.orgs.delete(deleted.tenant, 'Acme')
    await expect(deleted.tenancy.authenticate(deleted.token)).rejects.toThrow(
      'the organization of this token no longer exists',
    )

    const { tenancy, token, tenant } = await acme()
    const invite = async (email: string, role: string) => {
      const { token: invitation } = await tenancy.invitations.invite(tenant, { email, role })
      return (await tenancy.invitations.accept({ token: invitation, password: PASSWORD })).tokens.accessToken
    }
    const removed = await invite('removed@acme.test', 'member')
    await tenancy.members.remove(tenant, (await tenancy.authenticate(removed)).member.id)
    await expect(tenancy.authenticate(removed)).rejects.toThrow('the membership of this token no longer exists')

    const promoted = await invite('promoted@acme.test', 'member')
    await tenancy.members.changeRole(tenant, (await tenancy.authenticate(promoted)).member.id, 'admin')
    await expect(tenancy.authenticate(promoted)).rejects.toThrow('the role in this token has changed')

    const loggedOut = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    await tenancy.auth.logout(await tenancy.authenticate(loggedOut.accessToken))
    await expect(tenancy.authenticate(loggedOut.accessToken)).rejects.toThrow('the session of this token has ended')

    await tenancy.orgs.update(tenant, { password: 'another fine passphrase' })
    await expect(tenancy.authenticate(token)).rejects.toThrow('the access token has been revoked')
  })

  it('honours a token until the last millisecond before it expires, and its session until the last millisecond before it ends', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const expiring = await acme({ auth: { ...TEST_AUTH, expiresIn: 60 } })
    const { exp } = JSON.parse(Buffer.from(expiring.token.split('.')[1]!, 'base64url').toString()) as { exp: number }
    vi.setSystemTime(exp * 1000 - 1)
    await expect(expiring.tenancy.authenticate(expiring.token)).resolves.toMatchObject({ name: 'Acme' })
    vi.setSystemTime(exp * 1000)
    await expect(expiring.tenancy.authenticate(expiring.token)).rejects.toBeInstanceOf(TokenExpiredError)

    vi.setSystemTime(Math.ceil(Date.now() / 1000) * 1000)
    const ending = await acme({ auth: { ...TEST_AUTH, expiresIn: 7200, sessionLifetimeSeconds: 3600 } })
    const endsAt = Date.now() + 3600 * 1000
    vi.setSystemTime(endsAt - 1)
    await expect(ending.tenancy.authenticate(ending.token)).resolves.toMatchObject({ name: 'Acme' })
    vi.setSystemTime(endsAt)
    await expect(ending.tenancy.authenticate(ending.token)).rejects.toThrow('the session of this token has ended')
  })

  it('finds a cached reference synchronously, by id, slug or name, and a missing one with a message that says so', async () => {
    const { tenancy, tenant } = await acme()
    for (const ref of [{ id: tenant.id }, { slug: 'acme' }, { name: 'ACME' }]) {
      await tenancy.tenant(ref)
      const again = registryOf(tenancy).findSync(ref)
      expect(again).not.toBeInstanceOf(Promise)
      expect(again).toMatchObject({ id: tenant.id })
    }
    // A well-formed reference no organization could have, and one no organization has.
    await expect(tenancy.tenant({ slug: 'Not A Label' })).rejects.toThrow('no organization matches this reference')
    await expect(tenancy.tenant({ slug: 'nobody' })).rejects.toThrow('no organization matches this reference')
  })

  it('takes a reference that is a string, null or a number as the caller’s bug: a TypeError, never a missing tenant', async () => {
    const { tenancy } = await acme()
    for (const ref of ['acme', null, 42])
      await expect(tenancy.tenant(ref as never)).rejects.toThrow(/tenantry: a tenant reference/)
  })

  it('does not cache an account read before a password change that raced it', async () => {
    const failing = failingStore(memoryStore())
    const { tenancy, token, tenant } = await acme({ store: failing.store, cache: { size: 100, ttlMs: 60_000 } })
    // An email change drops the account from the cache (and the token from the resolved cache) without revoking anything.
    await tenancy.orgs.update(tenant, { email: 'a2@acme.test' })
    const { release } = holdNextRead(failing.store, 'accounts.find')
    const slow = tenancy.authenticate(token)
    // The password changes meanwhile; its sessions survive (their deletion fails), so only the account's token version can refuse the token.
    failing.failNext('sessions.delete')
    await expect(tenancy.orgs.update(tenant, { password: 'a brand new passphrase' })).rejects.toThrow()
    release()
    await slow.catch(() => {})
    await expect(tenancy.authenticate(token)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('does not cache a membership read before a role change that raced it', async () => {
    const failing = failingStore(memoryStore())
    const tenancy = createTenancy({ store: failing.store, auth: TEST_AUTH, cache: { size: 100, ttlMs: 60_000 } })
    await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })).accessToken,
    )
    const { token: invitation } = await tenancy.invitations.invite(owner, { email: 'm@acme.test', role: 'admin' })
    const { tokens } = await tenancy.invitations.accept({ token: invitation, password: PASSWORD })
    // The member's token was never resolved, so its membership is read (and held) by the first lookup.
    const memberId = JSON.parse(Buffer.from(tokens.accessToken.split('.')[1]!, 'base64url').toString()).mid as string
    const { release } = holdNextRead(failing.store, 'memberships.find')
    const slow = tenancy.authenticate(tokens.accessToken)
    failing.failNext('sessions.delete')
    await expect(tenancy.members.changeRole(owner, memberId, 'member')).rejects.toThrow()
    release()
    await slow.catch(() => {})
    await expect(tenancy.authenticate(tokens.accessToken)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('does not cache a session read before a logout that raced it', async () => {
    const store = memoryStore()
    const { tenancy, tenant } = await acme({ store, cache: { size: 100, ttlMs: 60_000 } })
    // A second login: its session was never read, so the first lookup of its token reads (and is held on) it.
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const sessionId = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid as string
    const { release } = holdNextRead(store, 'sessions.find')
    const slow = tenancy.authenticate(accessToken)
    await tenancy.auth.logout({ id: tenant.id, member: tenant.member, sessionId })
    release()
    await slow.catch(() => {})
    await expect(tenancy.authenticate(accessToken)).rejects.toBeInstanceOf(TokenInvalidError)
  })

  it('sees a change made by another instance once the cache TTL has passed', async () => {
    const store = memoryStore()
    const instanceA = await acme({ store, cache: { ttlMs: 1_000 } })
    const instanceB = createTenancy({ store, auth: TEST_AUTH })
    await instanceB.orgs.update(instanceA.tenant, { name: 'Renamed Elsewhere' })
    expect((await instanceA.tenancy.authenticate(instanceA.token)).name).toBe('Acme')
    await sleep(1_100)
    expect((await instanceA.tenancy.authenticate(instanceA.token)).name).toBe('Renamed Elsewhere')
  })

  it('works with caching turned off, seeing other instances at once', async () => {
    const store = memoryStore()
    const instanceA = await acme({ store, cache: { size: 0 } })
    await createTenancy({ store, auth: TEST_AUTH }).orgs.update(instanceA.tenant, { name: 'Renamed Elsewhere' })
    expect((await instanceA.tenancy.authenticate(instanceA.token)).name).toBe('Renamed Elsewhere')
  })

  it('refuses bad cache options at start-up with a TypeError', () => {
    expect(() => createTenancy({ auth: TEST_AUTH, cache: { size: -1 } })).toThrow(TypeError)
    expect(() => createTenancy({ auth: TEST_AUTH, cache: { ttlMs: 0 } })).toThrow(TypeError)
  })

  /** A memory store whose organization lookups are counted. */
  function countedStore() {
    const store = memoryStore()
    const organizations = store.records.organizations
    const find = organizations.find
    let reads = 0
    ;(organizations as { find: typeof find }).find = (query) => {
      reads++
      return find(query)
    }
    return { store, reads: () => reads }
  }

  it('reads an organization once for 50 concurrent lookups that all miss the cache', async () => {
    const { store, reads } = countedStore()
    const tenancy = createTenancy({ store, auth: TEST_AUTH })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const { accessToken } = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    // A second instance over the same store: nothing of Acme is in its cache yet.
    const other = createTenancy({ store, auth: TEST_AUTH })
    const before = reads()
    const found = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0 ? other.tenant({ slug: 'acme' }) : other.tenant({ id: organization.id }),
      ),
    )
    expect(new Set(found.map((tenant) => tenant.id))).toEqual(new Set([organization.id]))
    expect(reads() - before).toBe(2) // one per reference: the slug, and the id
    const third = createTenancy({ store, auth: TEST_AUTH })
    const beforeTokens = reads()
    await Promise.all(Array.from({ length: 50 }, () => third.authenticate(accessToken)))
    expect(reads() - beforeTokens).toBe(1)
  })

  it('remembers a reference that names nothing: 1,000 lookups of 100 made-up slugs read the store 100 times', async () => {
    const { store, reads } = countedStore()
    const tenancy = createTenancy({ store, auth: TEST_AUTH, cache: { size: 50 } })
    const before = reads()
    for (let round = 0; round < 10; round++)
      for (let i = 0; i < 100; i++)
        await expect(tenancy.tenant({ slug: `nobody-${i % 50}` })).rejects.toMatchObject({
          code: 'ORGANIZATION_NOT_FOUND',
        })
    // 50 distinct names, 50 remembered (the cache's size): each read once.
    expect(reads() - before).toBe(50)
    // Past the cache's size the oldest are forgotten, so memory stays bounded: reads, not growth.
    for (let i = 50; i < 150; i++) await tenancy.tenant({ slug: `nobody-${i}` }).catch(() => {})
    const again = reads()
    await tenancy.tenant({ slug: 'nobody-0' }).catch(() => {})
    expect(reads() - again).toBe(1)
  })

  it('finds an organization at once after its create, and a domain after it is added, though both were just remembered as missing', async () => {
    const tenancy = createTenancy({ store: memoryStore(), auth: TEST_AUTH })
    await expect(tenancy.tenant({ slug: 'acme' })).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    expect((await tenancy.tenant({ slug: 'acme' })).name).toBe('Acme')
    await expect(tenancy.tenant({ domain: 'app.acme.test' })).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
    await tenancy.admin.addDomain(organization.id, 'app.acme.test')
    expect((await tenancy.tenant({ domain: 'app.acme.test' })).id).toBe(organization.id)
  })

  it('never hands a lookup made after a suspension the answer of a read begun before it', async () => {
    const store = memoryStore()
    const tenancy = createTenancy({ store, auth: TEST_AUTH, cache: { size: 0 } })
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const cached = createTenancy({ store, auth: TEST_AUTH })
    const held = holdNextRead(store, 'organizations.find')
    const early = cached.tenant({ slug: 'acme' })
    await held.reached
    await cached.admin.suspend(organization.id, { reason: 'unpaid' })
    const late = cached.tenant({ slug: 'acme' })
    held.release()
    expect((await early).id).toBe(organization.id)
    await expect(late).rejects.toMatchObject({ code: 'ORGANIZATION_NOT_FOUND' })
  })
})
