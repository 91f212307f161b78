import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import type { AccountRecord, OrganizationRecord } from '../control/records.js'
import type { TenantCollection } from '../data/collection-types.js'

export async function write(collection: TenantCollection, text: string): Promise<void> {
  await collection.insertOne({ text })
}

export async function read(collection: TenantCollection): Promise<string[]> {
  return (await collection.find({}, { sort: { text: 1 } }).toArray()).map((doc) => String(doc.text))
}

let sequence = 0
export const unique = (prefix: string) => `${prefix}-${++sequence}-${Math.random().toString(36).slice(2, 8)}`

export function organization(overrides: Partial<OrganizationRecord> = {}): OrganizationRecord {
  const now = new Date()
  const name = unique('Org')
  return {
    id: unique('org'),
    name,
    nameKey: name.toLowerCase(),
    slug: name.toLowerCase(),
    dataKey: `t_${randomBytes(12).toString('hex')}`,
    ownerId: unique('member'),
    state: 'active',
    stateChangedAt: now,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  }
}

/** An organization as a store returns it: `stateChangedAt` is the store's own clock, not the caller's. */
export function stamped(org: OrganizationRecord) {
  return { ...org, stateChangedAt: expect.any(Date) }
}

/** An account as a store returns it: `createdAt` is the store's own clock, not the caller's. */
export function stampedAccount(record: AccountRecord) {
  return { ...record, createdAt: expect.any(Date) }
}

export function account(overrides: Partial<AccountRecord> = {}): AccountRecord {
  const now = new Date()
  return {
    id: unique('account'),
    email: `${unique('a')}@x.test`,
    passwordHash: '$2b$04$hash',
    tokenVersion: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  }
}
