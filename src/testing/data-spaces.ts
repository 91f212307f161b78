import { describe, expect, it } from 'vitest'
import type { TenantCollection } from '../data/collection-types.js'
import * as errors from '../errors.js'
import { organization, read, write } from './fixtures.js'
import type { DataProviderUnderTest } from './subjects.js'

const { OrganizationNotFoundError } = errors

/** Data spaces: one per organization, provisioned and dropped idempotently, unique indexes per tenant. */
export function describeDataSpaces(subject: DataProviderUnderTest): void {
  const keyOf = (org: { id: string; dataKey: string }) => (subject.keysAreIds ? org.id : org.dataKey)
  describe('tenant data', () => {
    it('gives each organization a data space of its own', async () => {
      const data = await subject.create()
      const [one, two] = [organization(), organization()]
      for (const org of [one, two]) await data.provision(org)
      await write(data.collection(one, 'notes'), 'one')
      await write(data.collection(two, 'notes'), 'two')
      await write(data.collection(two, 'invoices'), 'two’s invoice')
      expect(await read(data.collection(one, 'notes'))).toEqual(['one'])
      expect(await read(data.collection(two, 'notes'))).toEqual(['two'])
      expect(await read(data.collection(one, 'invoices'))).toEqual([])
      expect(await read(data.collection(two, 'invoices'))).toEqual(['two’s invoice'])
      expect(await data.listKeys()).toEqual(expect.arrayContaining([keyOf(one), keyOf(two)]))
    })

    it('provisions and drops idempotently, and a dropped space is gone with its data', async () => {
      const data = await subject.create()
      const org = organization()
      await data.provision(org)
      await write(data.collection(org, 'notes'), 'kept')
      await write(data.collection(org, 'invoices'), 'kept too')
      await data.provision(org)
      expect(await read(data.collection(org, 'notes'))).toEqual(['kept'])
      await data.drop(org)
      await data.drop(org)
      expect(await data.listKeys()).not.toContain(keyOf(org))
      // A store may refuse the handle outright or hand out one to an empty space.
      for (const name of ['notes', 'invoices']) {
        let handle: TenantCollection | undefined
        try {
          handle = data.collection(org, name)
        } catch (err) {
          expect(err).toBeInstanceOf(OrganizationNotFoundError)
        }
        if (handle !== undefined) expect(await read(handle)).toEqual([])
      }
    })

    it('enforces a declared unique index within each tenant, and not across tenants', async () => {
      const data = await subject.create()
      const [one, two] = [organization(), organization()]
      for (const org of [one, two]) await data.provision(org)
      await data.collection(one, 'invoices').insertOne({ number: 1 })
      await data.collection(two, 'invoices').insertOne({ number: 1 })
      await expect(data.collection(one, 'invoices').insertOne({ number: 1 })).rejects.toThrow()
      expect(await data.collection(one, 'invoices').countDocuments()).toBe(1)
    })
  })
}
