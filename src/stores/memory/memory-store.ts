import { AdminEmailTakenError, DomainTakenError, OrganizationNameTakenError, OrganizationNotFoundError, SlugTakenError } from '../../errors.js'
import type { AdminRecord, AuditEvent, DomainRecord, OrganizationRecord, RefreshTokenRecord, SessionRecord, TenantStore } from '../../store.js'
import { MemoryCollection } from './memory-collection.js'
import { UniqueTable } from './unique-table.js'

/**
 * The embedded default store: everything in this process's memory, lost on exit. It keeps the
 * same rules a database would: unique organization names and admin emails are checked and
 * claimed in one synchronous step (so concurrent creates cannot both win), and records are
 * copied in and out so no caller holds a reference into the store.
 *
 * @example
 * const tenancy = createTenancy({ store: memoryStore(), auth: { secret: process.env.JWT_SECRET! } })
 */
export function memoryStore(): TenantStore<MemoryCollection> {
  const organizations = new UniqueTable<OrganizationRecord, 'nameKey' | 'slug'>({
    unique: {
      nameKey: () => new OrganizationNameTakenError('an organization with this name already exists'),
      slug: () => new SlugTakenError('an organization with this slug already exists'),
    },
    dateFields: ['stateChangedAt', 'createdAt', 'updatedAt'],
  })
  const admins = new UniqueTable<AdminRecord, 'email'>({
    unique: { email: () => new AdminEmailTakenError('an admin with this email already exists') },
    dateFields: ['createdAt', 'updatedAt'],
  })
  const domains = new Map<string, DomainRecord>()
  const sessions = new Map<string, SessionRecord>()
  const refreshTokens = new Map<string, RefreshTokenRecord>()
  const auditEvents: AuditEvent[] = []
  // A provisioned data space is an entry; its collection is made on first use, so idle tenants
  // cost a map entry rather than a collection each.
  const collections = new Map<string, MemoryCollection | undefined>()

  return {
    insertOrganization: async (org) => organizations.insert(org),
    findOrganization: async (query) => organizations.find(query),
    updateOrganization: async (id, patch) => organizations.update(id, patch),
    deleteOrganization: async (id) => organizations.delete(id),

    insertAdmin: async (admin) => admins.insert(admin),
    findAdmin: async (query) => admins.find(query),
    updateAdmin: async (id, patch) => admins.update(id, patch),
    deleteAdmins: async (organizationId) => admins.deleteWhere((admin) => admin.organizationId === organizationId),

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
      const consumed = token.usedAt === null
      if (consumed) token.usedAt = usedAt
      return { token: structuredClone(token), consumed }
    },

    async insertAuditEvent(event) {
      auditEvents.push(structuredClone(event))
    },
    async listAuditEvents(organizationId, { limit, before }) {
      const found: AuditEvent[] = []
      for (let i = auditEvents.length - 1; i >= 0 && found.length < limit; i--) {
        const event = auditEvents[i]!
        if (event.organizationId === organizationId && (before === undefined || event.at < before)) found.push(structuredClone(event))
      }
      return found
    },
    async deleteAuditEvents(organizationId) {
      for (let i = auditEvents.length - 1; i >= 0; i--) if (auditEvents[i]!.organizationId === organizationId) auditEvents.splice(i, 1)
    },

    async provisionTenantData(org) {
      if (!collections.has(org.dataKey)) collections.set(org.dataKey, undefined)
    },
    async dropTenantData(org) {
      collections.delete(org.dataKey)
    },
    async *listOrganizations(options = {}) {
      yield* organizations.listAfter(options.afterId)
    },
    async listTenantDataKeys() {
      return [...collections.keys()]
    },
    tenantData(org) {
      let collection = collections.get(org.dataKey)
      if (collection) return collection
      // Reachable only when a delete finished between resolving the tenant and this call.
      if (!collections.has(org.dataKey)) throw new OrganizationNotFoundError('the organization no longer exists')
      collection = new MemoryCollection()
      collections.set(org.dataKey, collection)
      return collection
    },
  }
}
