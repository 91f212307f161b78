import { describe, expect, it } from 'vitest'
import { OrganizationNameTakenError } from '../errors.js'
import { account, organization } from './fixtures.js'
import type { RecordStoreUnderTest } from './subjects.js'

/**
 * `RecordStore.transaction`, on a store that offers it: all of its calls commit together or
 * none do, nothing of it is seen from outside before the commit, and a failed call inside
 * (a taken name the caller handles) leaves it usable. A store without one skips these.
 */
export function describeRecordTransactions(subject: RecordStoreUnderTest): void {
  describe('its transactions', () => {
    it('commits every call made in a transaction together, and shows none of them outside before', async (context) => {
      const records = await subject.create()
      if (!records.transaction) return context.skip()
      const [org, owner] = [organization(), account()]
      let reachedGate!: () => void
      let openGate!: () => void
      const reached = new Promise<void>((resolve) => (reachedGate = resolve))
      const gate = new Promise<void>((resolve) => (openGate = resolve))
      const committed = records.transaction(async () => {
        await records.organizations.insert(org)
        await records.accounts.insert(owner)
        expect(await records.organizations.find({ id: org.id })).not.toBeNull()
        reachedGate()
        await gate
      })
      await reached
      expect(await records.organizations.find({ id: org.id })).toBeNull()
      expect(await records.accounts.find({ id: owner.id })).toBeNull()
      openGate()
      await committed
      expect(await records.organizations.find({ id: org.id })).not.toBeNull()
      expect(await records.accounts.find({ id: owner.id })).not.toBeNull()
    })

    it('keeps none of the calls made in a transaction that throws', async (context) => {
      const records = await subject.create()
      if (!records.transaction) return context.skip()
      const [org, owner] = [organization(), account()]
      await expect(
        records.transaction(async () => {
          await records.organizations.insert(org)
          await records.accounts.insert(owner)
          throw new Error('changed its mind')
        }),
      ).rejects.toThrow('changed its mind')
      expect(await records.organizations.find({ id: org.id })).toBeNull()
      expect(await records.accounts.find({ id: owner.id })).toBeNull()
    })

    it('stays usable after a call inside it fails: a taken name caught, another tried, both committed', async (context) => {
      const records = await subject.create()
      if (!records.transaction) return context.skip()
      const taken = organization()
      await records.organizations.insert(taken)
      const second = organization({ nameKey: taken.nameKey })
      await records.transaction(async () => {
        await expect(records.organizations.insert(second)).rejects.toBeInstanceOf(OrganizationNameTakenError)
        second.nameKey = `${taken.nameKey}-2`
        await records.organizations.insert(second)
      })
      expect(await records.organizations.find({ nameKey: `${taken.nameKey}-2` })).toMatchObject({ id: second.id })
    })
  })
}
