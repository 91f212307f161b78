import { describe, expect, it } from 'vitest'
import { createTenancy, currentTenant, type Tenancy, type Tenant, errors } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { notesStore } from '../support/notes-store.js'
import { storeOf } from '../support/store-of.js'

// The error classes a test names, from the namespace a host uses.
const { OrganizationNotFoundError } = errors

const input = { name: 'Acme', email: 'a@acme.test', password: PASSWORD }

async function adminOf(tenancy: Tenancy) {
  return tenancy.authenticate((await tenancy.auth.login({ email: input.email, password: PASSWORD })).accessToken)
}

describe('lifecycle hooks', () => {
  it('runs afterCreate as the new tenant, and keeps what it seeded', async () => {
    const seen: (Tenant | undefined)[] = []
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      hooks: {
        async afterCreate(tenant) {
          seen.push(currentTenant())
          await tenant.collection('notes').insertOne({ text: 'welcome' })
        },
      },
    })
    const { organization } = await tenancy.orgs.create(input)
    expect(seen.map((tenant) => tenant?.id)).toEqual([organization.id])
    expect(
      (await (await tenancy.tenant({ id: organization.id })).collection('notes').find({}).toArray()).map(
        (doc: { text?: unknown }) => doc.text,
      ),
    ).toEqual(['welcome'])
    expect(currentTenant()).toBeUndefined()
  })

  it('fails the whole create when afterCreate throws, leaving nothing behind', async () => {
    const failure = new Error('seeding failed')
    let fail = true
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      hooks: {
        async afterCreate(tenant: Tenant) {
          await tenant.collection('notes').insertOne({ text: 'half-seeded' })
          if (fail) throw failure
        },
      },
    })
    await expect(tenancy.orgs.create(input)).rejects.toBe(failure)
    expect(await tenancy.orgs.get('Acme')).toBeNull()
    expect(await storeOf(tenancy).records.accounts.find({ email: input.email })).toBeNull()
    expect(await storeOf(tenancy).data.listKeys()).toEqual([])
    expect(currentTenant()).toBeUndefined()
    fail = false
    const { organization } = await tenancy.orgs.create(input)
    expect(
      (await (await tenancy.tenant({ id: organization.id })).collection('notes').find({}).toArray()).map(
        (doc: { text?: unknown }) => doc.text,
      ),
    ).toEqual(['half-seeded'])
  })

  it('runs beforeDelete as the tenant once its tokens have stopped, with its data still there', async () => {
    const calls: { current?: string; notes: number; tokenRefused: boolean }[] = []
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      hooks: {
        async beforeDelete(tenant) {
          calls.push({
            current: currentTenant()?.id,
            notes: await tenant.collection('notes').countDocuments(),
            tokenRefused: await tenancy.authenticate(token).then(
              () => false,
              () => true,
            ),
          })
        },
      },
    })
    const { organization } = await tenancy.orgs.create(input)
    const admin = await adminOf(tenancy)
    const token = (await tenancy.auth.login({ email: input.email, password: PASSWORD })).accessToken
    await admin.collection('notes').insertOne({ text: 'note' })
    await tenancy.orgs.delete(admin, 'Acme')
    expect(calls).toEqual([{ current: organization.id, notes: 1, tokenRefused: true }])
    await expect(tenancy.tenant({ id: organization.id })).rejects.toBeInstanceOf(OrganizationNotFoundError)
  })

  it('stops the delete when beforeDelete throws, and gives the organization back intact', async () => {
    const failure = new Error('cleanup failed')
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      hooks: { beforeDelete: () => Promise.reject(failure) },
    })
    const { organization } = await tenancy.orgs.create(input)
    const admin = await adminOf(tenancy)
    await admin.collection('notes').insertOne({ text: 'kept' })
    await expect(tenancy.orgs.delete(admin, 'Acme')).rejects.toBe(failure)
    const tenant = await tenancy.tenant({ id: organization.id })
    expect((await tenant.collection('notes').find({}).toArray()).map((doc: { text?: unknown }) => doc.text)).toEqual([
      'kept',
    ])
    expect(
      (await tenancy.authenticate((await tenancy.auth.login({ email: input.email, password: PASSWORD })).accessToken))
        .id,
    ).toBe(organization.id)
  })

  it('runs beforeDelete again when recover() finishes a delete a crash interrupted', async () => {
    const cleaned: string[] = []
    const tenancy = createTenancy({
      auth: TEST_AUTH,
      store: notesStore(),
      inFlightTimeoutMs: 0,
      hooks: { beforeDelete: (tenant) => void cleaned.push(tenant.id) },
    })
    const { organization } = await tenancy.orgs.create(input)
    await storeOf(tenancy).records.organizations.transition(organization.id, { from: ['active'], to: 'deleting' })
    expect(await tenancy.recover()).toMatchObject({ organizationsRemoved: 1 })
    expect(cleaned).toEqual([organization.id])
    expect(await storeOf(tenancy).records.organizations.find({ id: organization.id })).toBeNull()
  })

  it('refuses hooks that are not functions at start-up', () => {
    expect(() =>
      createTenancy({ auth: TEST_AUTH, store: notesStore(), hooks: { afterCreate: 'seed' as never } }),
    ).toThrow(TypeError)
    expect(() => createTenancy({ auth: TEST_AUTH, store: notesStore(), hooks: { beforeDelete: {} as never } })).toThrow(
      TypeError,
    )
  })
})
