import { AdminEmailTakenError, OrganizationNameTakenError, OrganizationNotFoundError } from '../../errors.js'
import type { AdminPatch, AdminQuery, AdminRecord, OrganizationPatch, OrganizationQuery, OrganizationRecord, TenantStore } from '../../store.js'
import { MemoryCollection } from './memory-collection.js'

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
  const organizations = new Map<string, OrganizationRecord>()
  const organizationIdByNameKey = new Map<string, string>()
  const admins = new Map<string, AdminRecord>()
  const adminIdByEmail = new Map<string, string>()
  const collections = new Map<string, MemoryCollection>()

  const findOrganization = (query: OrganizationQuery) =>
    organizations.get('id' in query ? query.id : (organizationIdByNameKey.get(query.nameKey) ?? ''))
  const findAdmin = (query: AdminQuery) => admins.get('id' in query ? query.id : (adminIdByEmail.get(query.email) ?? ''))

  return {
    async insertOrganization(org) {
      if (organizationIdByNameKey.has(org.nameKey)) throw new OrganizationNameTakenError('an organization with this name already exists')
      organizations.set(org.id, structuredClone(org))
      organizationIdByNameKey.set(org.nameKey, org.id)
    },
    async findOrganization(query) {
      const org = findOrganization(query)
      return org ? structuredClone(org) : null
    },
    async updateOrganization(id, patch: OrganizationPatch) {
      const org = organizations.get(id)
      if (!org) return null
      if (patch.nameKey !== undefined && patch.nameKey !== org.nameKey) {
        if (organizationIdByNameKey.has(patch.nameKey)) throw new OrganizationNameTakenError('an organization with this name already exists')
        organizationIdByNameKey.delete(org.nameKey)
        organizationIdByNameKey.set(patch.nameKey, id)
      }
      const updated = { ...org, ...structuredClone(patch) }
      organizations.set(id, updated)
      return structuredClone(updated)
    },
    async deleteOrganization(id) {
      const org = organizations.get(id)
      if (!org) return
      organizations.delete(id)
      organizationIdByNameKey.delete(org.nameKey)
    },

    async insertAdmin(admin) {
      if (adminIdByEmail.has(admin.email)) throw new AdminEmailTakenError('an admin with this email already exists')
      admins.set(admin.id, structuredClone(admin))
      adminIdByEmail.set(admin.email, admin.id)
    },
    async findAdmin(query) {
      const admin = findAdmin(query)
      return admin ? structuredClone(admin) : null
    },
    async updateAdmin(id, patch: AdminPatch) {
      const admin = admins.get(id)
      if (!admin) return null
      if (patch.email !== undefined && patch.email !== admin.email) {
        if (adminIdByEmail.has(patch.email)) throw new AdminEmailTakenError('an admin with this email already exists')
        adminIdByEmail.delete(admin.email)
        adminIdByEmail.set(patch.email, id)
      }
      const updated = { ...admin, ...structuredClone(patch) }
      admins.set(id, updated)
      return structuredClone(updated)
    },
    async deleteAdmins(organizationId) {
      for (const admin of admins.values()) {
        if (admin.organizationId !== organizationId) continue
        admins.delete(admin.id)
        adminIdByEmail.delete(admin.email)
      }
    },

    async provisionTenantData(org) {
      if (!collections.has(org.dataKey)) collections.set(org.dataKey, new MemoryCollection())
    },
    async dropTenantData(org) {
      collections.delete(org.dataKey)
    },
    async listTenantDataKeys() {
      return [...collections.keys()]
    },
    tenantData(org) {
      const collection = collections.get(org.dataKey)
      // Reachable only when a delete finished between resolving the tenant and this call.
      if (!collection) throw new OrganizationNotFoundError('the organization no longer exists')
      return collection
    },
  }
}
