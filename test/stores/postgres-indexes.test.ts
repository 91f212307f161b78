import type { Pool } from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy, memoryStore } from 'tenantry'
import { postgresRecords } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

/**
 * The real pool, noting the text and values of every query the store sends through it, on the
 * connections it checks out (the store takes one for each query, to bound the wait for it).
 */
function recording(pool: Pool) {
  const seen = new Map<string, unknown[]>()
  const proxy = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'connect') return Reflect.get(target, key, receiver)
      return async () => {
        const client = await target.connect()
        const query = client.query.bind(client) as (...args: unknown[]) => unknown
        return new Proxy(client, {
          get(inner, name, innerReceiver) {
            if (name !== 'query') return Reflect.get(inner, name, innerReceiver)
            return (text: unknown, values?: unknown[]) => {
              if (typeof text === 'string') seen.set(text, values ?? [])
              return query(text, values)
            }
          },
        })
      }
    },
  })
  return { pool: proxy, seen }
}

/** Plan nodes that read a whole table. */
function seqScans(plan: any): string[] {
  const found = plan['Node Type'] === 'Seq Scan' ? [String(plan['Relation Name'])] : []
  for (const child of plan.Plans ?? []) found.push(...seqScans(child))
  return found
}

describe('the PostgreSQL record store’s queries', () => {
  it('are each served by an index: none of them reads a whole table', async () => {
    const schema = database.fresh()
    const { pool, seen } = recording(database.pool)
    const records = postgresRecords({ pool, schema })
    const tenancy = createTenancy({ auth: TEST_AUTH, store: { records, data: memoryStore().data } })
    await tenancy.migrate()
    // Every kind of record read and written: organizations, logins, refreshes, members,
    // invitations, domains, audit pages, suspension, recovery and deletes.
    const { organization } = await tenancy.orgs.create({ name: 'Acme', email: 'a@acme.test', password: PASSWORD })
    const login = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    const owner = await tenancy.authenticate(login.accessToken)
    await tenancy.auth.refresh(login.refreshToken)
    await tenancy.auth.refresh(login.refreshToken).catch(() => {})
    const { token, invitation } = await tenancy.invitations.invite(owner, { email: 'b@acme.test', role: 'member' })
    await tenancy.invitations.list(owner)
    const { member } = await tenancy.invitations.accept({ token, subject: 'host-b', email: 'b@acme.test' })
    await tenancy.invitations.cancel(owner, invitation.id).catch(() => {})
    await tenancy.members.changeRole(owner, member.id, 'admin')
    await tenancy.members.list(owner)
    const second = await tenancy.auth.login({ email: 'a@acme.test', password: PASSWORD })
    await tenancy.auth.logout(await tenancy.authenticate(second.accessToken))
    await tenancy.admin.addDomain(organization.id, 'app.acme.test')
    await tenancy.tenant({ domain: 'app.acme.test' })
    await tenancy.admin.listDomains(organization.id)
    const events = await tenancy.admin.listAuditEvents(organization.id, { limit: 2 })
    await tenancy.admin.listAuditEvents(organization.id, { limit: 2, after: events.at(-1), before: new Date() })
    await tenancy.admin.suspend(organization.id, { reason: 'test' })
    await tenancy.admin.resume(organization.id)
    await tenancy.admin.transferOwnership(organization.id, member.id)
    await tenancy.admin.removeMember(organization.id, owner.member.id)
    await tenancy.accounts.find('host-b')
    await tenancy.migrate()
    await tenancy.recover()
    await tenancy.admin.deleteOrganization(organization.id)

    const client = await database.pool.connect()
    const unserved: string[] = []
    try {
      await client.query(`set search_path to ${schema}`)
      // Tables this small are read whole whatever the indexes; with sequential scans priced out,
      // a plan still shows one only where no index can serve the query.
      await client.query('set enable_seqscan = off')
      for (const [text, values] of seen) {
        if (!/^\s*(select|update|delete|with)/i.test(text)) continue
        const { rows } = await client.query(`explain (format json) ${text}`, values)
        const scans = seqScans(rows[0]['QUERY PLAN'][0].Plan)
        if (scans.length > 0) unserved.push(`${scans.join(', ')}: ${text.replace(/\s+/g, ' ')}`)
      }
    } finally {
      client.release()
    }
    expect(seen.size).toBeGreaterThan(30)
    expect(unserved).toEqual([])
  })
})
