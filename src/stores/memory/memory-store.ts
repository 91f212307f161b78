import type { CollectionDeclarations, IndexSpec } from '../../data/collection-types.js'
import { parseDeclarations, parseTenantField } from '../../data/declarations.js'
import { ScopedCollection } from '../../data/scoped-collection.js'
import {
  EmailTakenError,
  AlreadyMemberError,
  DomainTakenError,
  InvitationPendingError,
  OrganizationNameTakenError,
  OrganizationNotFoundError,
  SlugTakenError,
} from '../../errors.js'
import type {
  AccountRecord,
  AuditEvent,
  DomainRecord,
  InvitationRecord,
  MembershipRecord,
  OrganizationRecord,
  RefreshTokenRecord,
  SessionRecord,
  TenantStore,
} from '../../store.js'
import { MemoryCollection } from './memory-collection.js'
import { UniqueTable } from './unique-table.js'

export interface MemoryStoreOptions {
  /** The collections every tenant has, with their indexes: `{ notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } }`. */
  collections?: CollectionDeclarations
  /**
   * `'isolated'` (default): each tenant's collections are its own. `'shared'`: the same
   * partitions, with the MongoDB `'shared'` strategy's rules (the tenant field is tenantry's,
   * `_id`s are generated), so code tested here behaves as it will there.
   */
  strategy?: 'isolated' | 'shared'
  /** With `strategy: 'shared'`: the field that holds the organization id. Default `'tenantId'`. */
  tenantField?: string
  /**
   * How long one operation on a tenant's data may run when it gives no `maxTimeMS` of its own,
   * in milliseconds: past it, `QueryTimeoutError`. Default 5,000.
   */
  maxTimeMS?: number
}

/**
 * The embedded default store: everything in this process's memory, lost on exit. It keeps the
 * same rules a database would: unique organization names, slugs, admin emails and domains are
 * checked and claimed in one synchronous step (so concurrent creates cannot both win), and
 * records are copied in and out so no caller holds a reference into the store.
 *
 * @example
 * const tenancy = createTenancy({ store: memoryStore({ collections: { notes: {} } }), auth: { secret } })
 */
export function memoryStore(options: MemoryStoreOptions = {}): TenantStore {
  if (typeof options !== 'object' || options === null)
    throw new TypeError('tenantry: memoryStore options must be an object')
  const { strategy = 'isolated' } = options
  if (strategy !== 'isolated' && strategy !== 'shared')
    throw new TypeError("tenantry: memoryStore's strategy must be 'isolated' or 'shared'")
  const declared = parseDeclarations(options.collections)
  const tenantField = strategy === 'shared' ? parseTenantField(options.tenantField) : undefined
  if (options.maxTimeMS !== undefined && !(Number.isSafeInteger(options.maxTimeMS) && options.maxTimeMS > 0))
    throw new TypeError('tenantry: memoryStore maxTimeMS must be a positive whole number of milliseconds')
  const data = partitionedData(declared, tenantField, options.maxTimeMS)

  const organizations = new UniqueTable<OrganizationRecord, 'nameKey' | 'slug'>({
    unique: {
      nameKey: () => new OrganizationNameTakenError('an organization with this name already exists'),
      slug: () => new SlugTakenError('an organization with this slug already exists'),
    },
    dateFields: ['stateChangedAt', 'createdAt', 'updatedAt'],
  })
  const accounts = new UniqueTable<AccountRecord, 'email'>({
    unique: { email: () => new EmailTakenError('an account with this email already exists') },
    dateFields: ['createdAt', 'updatedAt'],
  })
  // Compound unique keys as one derived field each, stripped on the way out.
  const memberships = new UniqueTable<MembershipRecord & { pair: string }, 'pair'>({
    unique: { pair: () => new AlreadyMemberError('this account is already a member of the organization') },
    dateFields: ['createdAt', 'updatedAt'],
  })
  const invitations = new UniqueTable<InvitationRecord & { pair: string }, 'pair' | 'tokenHash'>({
    unique: {
      pair: () => new InvitationPendingError('this email already has a pending invitation to the organization'),
      tokenHash: () => new Error('invitation token collision'),
    },
    dateFields: ['createdAt', 'expiresAt'],
  })
  const pair = (first: string, second: string) => `${first}\u0000${second}`
  const membership = (row: (MembershipRecord & { pair?: string }) | null): MembershipRecord | null => {
    if (!row) return null
    const { pair: _pair, ...record } = row
    return record
  }
  const invitation = (row: (InvitationRecord & { pair?: string }) | null): InvitationRecord | null => {
    if (!row) return null
    const { pair: _pair, ...record } = row
    return record
  }
  const domains = new Map<string, DomainRecord>()
  const sessions = new Map<string, SessionRecord>()
  const refreshTokens = new Map<string, RefreshTokenRecord>()
  const auditEvents: AuditEvent[] = []

  return {
    collectionNames: Object.freeze([...declared.keys()]),
    ...data,

    insertOrganization: async (org) => organizations.insert({ ...org, stateChangedAt: new Date() }),
    findOrganization: async (query) => organizations.find(query),
    updateOrganization: async (id, patch, expected) => {
      if (expected && organizations.find({ id })?.ownerId !== expected.ownerId) return null
      return organizations.update(id, patch)
    },
    async transitionOrganization(id, { from, to, staleForMs }) {
      const org = organizations.find({ id })
      const now = Date.now()
      if (!org || !from.includes(org.state)) return null
      if (staleForMs !== undefined && now - org.stateChangedAt.getTime() < staleForMs) return null
      return organizations.update(id, { state: to, stateChangedAt: new Date(now) })
    },
    deleteOrganization: async (id) => organizations.delete(id),

    insertAccount: async (account) => accounts.insert(account),
    findAccount: async (query) => accounts.find(query),
    updateAccount: async (id, patch, expected) => {
      if (expected && accounts.find({ id })?.passwordHash !== expected.passwordHash) return null
      return accounts.update(id, patch)
    },
    deleteAccount: async (id) => accounts.delete(id),

    insertMembership: async (record) =>
      memberships.insert({ ...record, pair: pair(record.accountId, record.organizationId) }),
    findMembership: async (query) =>
      membership(
        'id' in query
          ? memberships.find({ id: query.id })
          : memberships.find({ pair: pair(query.accountId, query.organizationId) }),
      ),
    async listMemberships(query) {
      const rows =
        'organizationId' in query
          ? memberships.filter((row) => row.organizationId === query.organizationId)
          : memberships.filter((row) => row.accountId === query.accountId)
      return rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map((row) => membership(row)!)
    },
    async updateMembership(id, patch, expected) {
      if (expected && memberships.find({ id })?.role !== expected.role) return null
      return membership(memberships.update(id, patch))
    },
    async deleteMembership(id, organizationId) {
      if (memberships.find({ id })?.organizationId !== organizationId) return false
      memberships.delete(id)
      return true
    },
    deleteMemberships: async (organizationId) =>
      memberships.deleteWhere((row) => row.organizationId === organizationId),
    async *walkMemberships(walkOptions = {}) {
      for (const row of memberships.listAfter(walkOptions.afterId)) yield membership(row)!
    },

    insertInvitation: async (record) =>
      invitations.insert({ ...record, pair: pair(record.organizationId, record.email) }),
    findInvitation: async (query) =>
      invitation('id' in query ? invitations.find({ id: query.id }) : invitations.find({ tokenHash: query.tokenHash })),
    async listInvitations(organizationId) {
      const rows = invitations.filter((row) => row.organizationId === organizationId)
      return rows
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
        .map((row) => invitation(row)!)
    },
    async deleteInvitation(id, organizationId) {
      if (invitations.find({ id })?.organizationId !== organizationId) return false
      invitations.delete(id)
      return true
    },
    deleteInvitations: async (organizationId) =>
      invitations.deleteWhere((row) => row.organizationId === organizationId),

    async insertDomain(record) {
      if (domains.has(record.domain)) throw new DomainTakenError('another organization already uses this domain')
      domains.set(record.domain, structuredClone(record))
    },
    async findDomain(domain) {
      const record = domains.get(domain)
      return record ? structuredClone(record) : null
    },
    async listDomains(organizationId) {
      const found = [...domains.values()].filter((record) => record.organizationId === organizationId)
      return structuredClone(found.sort((a, b) => (a.domain < b.domain ? -1 : 1)))
    },
    async deleteDomain(domain, organizationId) {
      if (domains.get(domain)?.organizationId !== organizationId) return false
      return domains.delete(domain)
    },
    async deleteDomains(organizationId) {
      for (const record of domains.values()) if (record.organizationId === organizationId) domains.delete(record.domain)
    },

    async insertSession(session) {
      sessions.set(session.id, structuredClone(session))
    },
    async findSession(id) {
      const session = sessions.get(id)
      return session ? structuredClone(session) : null
    },
    async deleteSessions(query) {
      const [field, value] = Object.entries(query)[0] as [keyof SessionRecord, string]
      for (const session of sessions.values()) if (session[field] === value) sessions.delete(session.id)
      for (const token of refreshTokens.values()) if (!sessions.has(token.sessionId)) refreshTokens.delete(token.hash)
    },
    async insertRefreshToken(token) {
      refreshTokens.set(token.hash, structuredClone(token))
    },
    async consumeRefreshToken(hash, usedAt) {
      const token = refreshTokens.get(hash)
      if (!token) return null
      const consumed = token.usedAt === null || (token.retryUntil != null && token.retryUntil > usedAt)
      if (consumed) Object.assign(token, { usedAt, retryUntil: null })
      return { token: structuredClone(token), consumed }
    },
    async releaseRefreshToken(hash, usedAt, retryUntil) {
      const token = refreshTokens.get(hash)
      if (token?.usedAt?.getTime() === usedAt.getTime()) token.retryUntil = retryUntil
    },

    async insertAuditEvent(event) {
      auditEvents.push(structuredClone(event))
    },
    async listAuditEvents(organizationId, { limit, before, after }) {
      return structuredClone(
        auditEvents
          .filter(
            (event) =>
              event.organizationId === organizationId &&
              (before === undefined || event.at < before) &&
              (after === undefined || olderThan(event, after)),
          )
          .sort((a, b) => (olderThan(a, b) ? 1 : -1))
          .slice(0, limit),
      )
    },
    async deleteAuditEvents(organizationId) {
      for (let i = auditEvents.length - 1; i >= 0; i--)
        if (auditEvents[i]!.organizationId === organizationId) auditEvents.splice(i, 1)
    },

    async *listOrganizations(listOptions = {}) {
      yield* organizations.listAfter(listOptions.afterId)
    },
  }
}

type DataMethods = Pick<TenantStore, 'provisionTenantData' | 'dropTenantData' | 'listTenantDataKeys' | 'collection'>

/**
 * Each tenant's documents in a partition of their own, on both strategies: a query, however it
 * is written, runs over one tenant's documents and no one else's. `'shared'` adds its rules (the
 * tenant field is tenantry's, `_id`s are generated) so code tested here behaves as on MongoDB's
 * `'shared'`. A provisioned space is an entry; its collections are made on first use, so idle
 * tenants cost a map entry each.
 */
function partitionedData(
  declared: Map<string, IndexSpec[]>,
  tenantField: string | undefined,
  maxTimeMS: number | undefined,
): DataMethods {
  const spaces = new Map<string, Map<string, MemoryCollection>>()
  const keyOf = (org: Pick<OrganizationRecord, 'id' | 'dataKey'>) => (tenantField === undefined ? org.dataKey : org.id)
  return {
    async provisionTenantData(org) {
      if (!spaces.has(keyOf(org))) spaces.set(keyOf(org), new Map())
    },
    async dropTenantData(org) {
      spaces.delete(keyOf(org))
    },
    async listTenantDataKeys() {
      return [...spaces.keys()]
    },
    collection(org, name) {
      const space = spaces.get(keyOf(org))
      // Reachable only when a delete finished between resolving the tenant and this call.
      if (!space) throw new OrganizationNotFoundError('the organization no longer exists')
      const partition = (collection: string): MemoryCollection | undefined => {
        if (!declared.has(collection)) return undefined
        let found = space.get(collection)
        if (!found) {
          found = new MemoryCollection({ indexes: declared.get(collection), maxTimeMS, resolveCollection: partition })
          space.set(collection, found)
        }
        return found
      }
      const tenant = tenantField === undefined ? null : { field: tenantField, value: org.id }
      return new ScopedCollection(partition(name)!, name, {
        tenant,
        mixed: false,
        joinTarget: (target) => (declared.has(target) ? target : undefined),
      })
    },
  }
}

/** Whether `event` comes after `position` in the audit order: newest first, then by id descending. */
function olderThan(event: Pick<AuditEvent, 'at' | 'id'>, position: Pick<AuditEvent, 'at' | 'id'>): boolean {
  const difference = event.at.getTime() - position.at.getTime()
  return difference < 0 || (difference === 0 && event.id < position.id)
}
