import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createTenancy, currentTenant, memoryStore, type ForEachTenantReport } from 'tenantry'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { storeOf } from '../support/store-of.js'

async function tenancyWith(count: number) {
  const tenancy = createTenancy({ auth: TEST_AUTH })
  const ids: string[] = []
  for (let i = 0; i < count; i++)
    ids.push(
      (await tenancy.orgs.create({ name: `Org ${i}`, email: `admin${i}@x.test`, password: PASSWORD })).organization.id,
    )
  return { tenancy, ids: ids.sort() }
}

describe('tenancy.forEachTenant', () => {
  it('runs the function once for every active organization, in id order, each inside its own context', async () => {
    const { tenancy, ids } = await tenancyWith(5)
    const visited: string[] = []
    const report = await tenancy.forEachTenant(async (tenant) => {
      await sleep(1)
      expect(currentTenant()).toBe(tenant)
      visited.push(tenant.id)
    })
    expect(visited).toEqual(ids)
    expect(report).toEqual({ visited: 5, skipped: 0, lastId: ids.at(-1) })
    expect(currentTenant()).toBeUndefined()
  })

  it('skips an organization deleted after the listing read it, instead of running as anyone else', async () => {
    // A listing that reads ahead, as a database cursor's batch does: it still shows the organization.
    const base = memoryStore()
    const store = {
      ...base,
      records: {
        ...base.records,
        organizations: {
          ...base.records.organizations,
          async *list(options?: { afterId?: string }) {
            const batch = []
            for await (const org of base.records.organizations.list(options)) batch.push(org)
            yield* batch
          },
        },
      },
    }
    const tenancy = createTenancy({ store, auth: TEST_AUTH })
    for (const name of ['A', 'B', 'C', 'D'])
      await tenancy.orgs.create({ name, email: `${name}@x.test`, password: PASSWORD })
    const ids = (await tenancy.admin.listOrganizations()).organizations.map((org) => org.id)
    const doomed = await tenancy.tenant({ id: ids[2]! })
    const visited: string[] = []
    const report = await tenancy.forEachTenant(async (tenant) => {
      visited.push(tenant.id)
      if (tenant.id === ids[1]) {
        const { accessToken } = await tenancy.auth.login({
          email: `${doomed.name.toLowerCase()}@x.test`,
          password: PASSWORD,
        })
        await tenancy.orgs.delete(await tenancy.authenticate(accessToken), doomed.name)
      }
    })
    expect(visited).toEqual([ids[0], ids[1], ids[3]])
    expect(report).toMatchObject({ visited: 3, skipped: 1 })
  })

  it('stops at the first failure and resumes from the last id it reported, visiting nothing twice that had finished', async () => {
    const { tenancy, ids } = await tenancyWith(6)
    const visits = new Map<string, number>()
    const progress: ForEachTenantReport[] = []
    const failure = new Error('disk full')
    const visit = async (id: string) => visits.set(id, (visits.get(id) ?? 0) + 1)
    await expect(
      tenancy.forEachTenant(
        async (tenant) => {
          if (tenant.id === ids[3] && !visits.has(tenant.id)) {
            await visit(tenant.id)
            throw failure
          }
          await visit(tenant.id)
        },
        { onProgress: (report) => progress.push(report) },
      ),
    ).rejects.toBe(failure)
    const { lastId } = progress.at(-1)!
    expect(lastId).toBe(ids[2])
    await tenancy.forEachTenant(async (tenant) => visit(tenant.id), { after: lastId })
    expect(ids.map((id) => visits.get(id))).toEqual([1, 1, 1, 2, 1, 1])
  })

  it('runs at most `concurrency` at once, and its lastId never passes one still running', async () => {
    const { tenancy, ids } = await tenancyWith(8)
    let running = 0
    let peak = 0
    const done = new Set<string>()
    const reports: ForEachTenantReport[] = []
    await tenancy.forEachTenant(
      async (tenant) => {
        running++
        peak = Math.max(peak, running)
        // The first organization is the slowest: nothing may be reported done past it until it is.
        await sleep(tenant.id === ids[0] ? 40 : 5)
        expect(requireSame(tenant.id)).toBe(true)
        done.add(tenant.id)
        running--
      },
      {
        concurrency: 3,
        onProgress: (report) => {
          reports.push(report)
          const reportedThrough = ids.indexOf(report.lastId!)
          for (const id of ids.slice(0, reportedThrough + 1)) expect(done.has(id)).toBe(true)
        },
      },
    )
    expect(peak).toBe(3)
    expect(reports.at(-1)).toEqual({ visited: 8, skipped: 0, lastId: ids.at(-1) })
  })

  it('stops with the error of an onProgress that throws, after the visits in flight finish', async () => {
    const { tenancy } = await tenancyWith(4)
    const failure = new Error('progress store is down')
    let visits = 0
    await expect(
      tenancy.forEachTenant(
        async () => {
          visits++
          await sleep(2)
        },
        {
          concurrency: 2,
          onProgress: () => {
            throw failure
          },
        },
      ),
    ).rejects.toBe(failure)
    expect(visits).toBe(2)
  })

  it('refuses bad options at once with TypeError', async () => {
    const { tenancy } = await tenancyWith(1)
    await expect(tenancy.forEachTenant(() => {}, { concurrency: 0 })).rejects.toBeInstanceOf(TypeError)
    await expect(tenancy.forEachTenant(() => {}, { after: 42 as never })).rejects.toBeInstanceOf(TypeError)
    expect(() => tenancy.forEachTenant('not a function' as never)).toThrow(TypeError)
  })
})

function requireSame(id: string): boolean {
  return currentTenant()?.id === id
}

describe('tenancy.orgs.list', () => {
  it('pages through active organizations in id order, resumably, ending with next: null', async () => {
    const { tenancy, ids } = await tenancyWith(5)
    const first = await tenancy.admin.listOrganizations({ limit: 2 })
    expect(first.organizations.map((org) => org.id)).toEqual(ids.slice(0, 2))
    expect(first.next).toBe(ids[1])
    const second = await tenancy.admin.listOrganizations({ after: first.next, limit: 2 })
    expect(second.organizations.map((org) => org.id)).toEqual(ids.slice(2, 4))
    const last = await tenancy.admin.listOrganizations({ after: second.next, limit: 2 })
    expect(last).toEqual({
      organizations: [expect.objectContaining({ id: ids[4], slug: expect.any(String) })],
      next: null,
    })
  })

  it('leaves out organizations that are not active', async () => {
    const { tenancy, ids } = await tenancyWith(2)
    const now = new Date()
    await storeOf(tenancy).records.organizations.insert({
      id: '0-in-flight',
      name: 'In flight',
      nameKey: 'in flight',
      slug: 'in-flight',
      dataKey: 't_000000000000000000000000',
      ownerId: 'member-0',
      state: 'provisioning',
      stateChangedAt: now,
      createdAt: now,
      updatedAt: now,
    })
    expect((await tenancy.admin.listOrganizations()).organizations.map((org) => org.id)).toEqual(ids)
  })

  it('answers a bad limit with a validation error', async () => {
    const { tenancy } = await tenancyWith(1)
    for (const limit of [0, 1001, 1.5])
      await expect(tenancy.admin.listOrganizations({ limit })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' })
  })
})
