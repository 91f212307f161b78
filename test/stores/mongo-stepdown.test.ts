import { MongoClient } from 'mongodb'
import { describe, expect, inject, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { mongoStore } from 'tenantry/mongodb'
import { CONFORMANCE_COLLECTIONS as collections } from 'tenantry/testing'
import { migrated, useMongoDatabases } from '../support/mongo-databases.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'

const uri = inject('mongoUri')

// Needs a replica set (the replica-set job in CI); on a standalone server it skips, saying so.
describe.skipIf(!uri)('a primary stepping down under creates and deletes', () => {
  const fresh = useMongoDatabases(uri)

  it('leaves no organization half-made, and recover() finishes what was cut', async (context) => {
    const admin = await MongoClient.connect(process.env.MONGODB_ADMIN_URI ?? uri)
    try {
      const hello = await admin.db('admin').command({ hello: 1 })
      if (!hello.setName) return context.skip('not a replica set')
      // A member of higher priority takes the primary back 10-20 s after this test returns, in
      // the middle of the next file's calls; with equal priorities the new primary stays.
      const { config } = await admin.db('admin').command({ replSetGetConfig: 1 })
      const priorities = new Set((config.members as { priority?: number }[]).map((member) => member.priority ?? 1))
      expect([...priorities], 'every member of the same priority').toHaveLength(1)
      const database = fresh()
      const store = await migrated(mongoStore({ ...database, collections }))
      const tenancy = createTenancy({ auth: TEST_AUTH, store, inFlightTimeoutMs: 0 })
      for (let i = 0; i < 10; i++)
        await tenancy.orgs.create({ name: `Old ${i}`, email: `old${i}@x.test`, password: PASSWORD })
      const owners = await Promise.all(
        Array.from({ length: 10 }, async (_, i) =>
          tenancy.authenticate((await tenancy.auth.login({ email: `old${i}@x.test`, password: PASSWORD })).accessToken),
        ),
      )
      const inFlight = [
        ...Array.from({ length: 20 }, (_, i) =>
          tenancy.orgs.create({ name: `New ${i}`, email: `new${i}@x.test`, password: PASSWORD }),
        ),
        ...owners.map((owner, i) => tenancy.orgs.delete(owner, `Old ${i}`)),
      ].map((operation) =>
        operation.then(
          () => 'done',
          () => 'failed',
        ),
      )
      // The primary hangs up on every connection as it steps down; that answer is expected.
      await admin
        .db('admin')
        .command({ replSetStepDown: 10, secondaryCatchUpPeriodSecs: 5, force: true })
        .catch(() => {})
      await Promise.all(inFlight)

      // Once a primary is back (the driver waits for one), everything cut is finished or undone.
      await tenancy.recover()
      const { records } = store
      const left = []
      for await (const org of records.organizations.list()) left.push(org)
      expect(left.filter((org) => org.state !== 'active').map((org) => org.name)).toEqual([])
      for (const org of left) {
        const owner = await records.memberships.find({ id: org.ownerId })
        expect(owner?.organizationId, org.name).toBe(org.id)
      }
      for await (const membership of records.memberships.walk())
        expect(left.some((org) => org.id === membership.organizationId)).toBe(true)
      const keys = new Set(await store.data.listKeys())
      expect(left.every((org) => keys.has(org.dataKey))).toBe(true)
      expect(keys.size).toBe(left.length)
      // And what is left is whole: its owner signs in and writes.
      for (const org of left) {
        const email = org.name.startsWith('Old') ? `old${org.name.slice(4)}@x.test` : `new${org.name.slice(4)}@x.test`
        const tenant = await tenancy.authenticate((await tenancy.auth.login({ email, password: PASSWORD })).accessToken)
        await tenant.collection('notes').insertOne({ text: 'after the election' })
      }
    } finally {
      await admin.close()
    }
  }, 120_000)
})
