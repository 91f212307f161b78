import type { Collection, Db, IndexDescription, MongoServerError } from 'mongodb'
import { AdminEmailTakenError, DomainTakenError, OrganizationNameTakenError, SlugTakenError } from '../../errors.js'
import type { AdminRecord, AuditEvent, DomainRecord, OrganizationRecord, RefreshTokenRecord, SessionRecord, TenantStore } from '../../store.js'

interface CollectionStrategyOptions {
  /** The host's database: it holds the organizations, the admins and (this strategy) each tenant's collection. */
  db: Db
  /** `collection` (default): each organization gets a collection of its own in `db`. */
  strategy?: 'collection'
  /** Indexes every tenant collection gets at provisioning and from `tenancy.migrate()`. */
  indexes?: IndexDescription[]
  /** Prefix of every name tenantry creates. Default `'tenantry_'`. */
  prefix?: string
}

interface DatabaseStrategyOptions {
  /** The host's database: it holds the organizations and the admins. */
  db: Db
  /** `database`: each organization gets a database of its own on the same deployment. */
  strategy: 'database'
  /** Collections every tenant database gets at provisioning, each with its indexes. */
  indexes?: Record<string, IndexDescription[]>
  /** Prefix of every name tenantry creates. Default `'tenantry_'`. */
  prefix?: string
}

export type MongoStoreOptions = CollectionStrategyOptions | DatabaseStrategyOptions

type OrganizationDocument = Omit<OrganizationRecord, 'id'> & { _id: string }
type AdminDocument = Omit<AdminRecord, 'id'> & { _id: string }
type DomainDocument = Omit<DomainRecord, 'domain'> & { _id: string }
type SessionDocument = Omit<SessionRecord, 'id'> & { _id: string }
type RefreshTokenDocument = Omit<RefreshTokenRecord, 'hash'> & { _id: string }
type AuditEventDocument = Omit<AuditEvent, 'id'> & { _id: string }

// MongoDB's own limits: database names under 64 bytes, namespaces (db.collection) under 255.
const PREFIX = /^[a-z][a-z0-9_]{0,19}$/
const DATA_KEY_BYTES = 26 // newDataKey(): 't_' + 24 hex digits
const DUPLICATE_KEY = 11000
const NAMESPACE_EXISTS = 48
const NAMESPACE_NOT_FOUND = 26
// Databases may not exist while a database-per-tenant space is empty, so one marker collection
// makes the space real (and listable) from the moment it is provisioned.
const MARKER_COLLECTION = 'tenantry_space'

/**
 * The MongoDB store, over the host's own `Db` from the official driver: organizations and
 * admins in `<prefix>organizations` and `<prefix>admins` with unique indexes on the name key
 * and the email, and each tenant's data in a collection (`strategy: 'collection'`, the
 * default) or a database (`strategy: 'database'`) named after the organization's stable data
 * key, so a rename never moves data. `req.tenant.data` is the driver's own `Collection` or `Db`.
 *
 * @example
 * const client = await MongoClient.connect(process.env.MONGODB_URI!)
 * const tenancy = createTenancy({ store: mongoStore({ db: client.db('app'), indexes: [{ key: { createdAt: 1 } }] }), auth })
 */
export function mongoStore(options: CollectionStrategyOptions): TenantStore<Collection>
export function mongoStore(options: DatabaseStrategyOptions): TenantStore<Db>
export function mongoStore(options: MongoStoreOptions): TenantStore<Collection | Db> {
  if (typeof options !== 'object' || options === null || typeof options.db?.collection !== 'function') {
    throw new TypeError('tenantry: mongoStore needs { db }, a Db from the mongodb driver')
  }
  const { db, strategy = 'collection', prefix = 'tenantry_' } = options
  if (strategy !== 'collection' && strategy !== 'database') throw new TypeError("tenantry: strategy must be 'collection' or 'database'")
  if (!PREFIX.test(prefix)) throw new TypeError('tenantry: prefix must be a lower-case letter and up to 19 more of [a-z0-9_]')
  if (strategy === 'collection' && Buffer.byteLength(`${db.databaseName}.${prefix}${'x'.repeat(DATA_KEY_BYTES)}`) >= 255) {
    throw new TypeError('tenantry: the database name is too long for tenant collection names (MongoDB namespaces stay under 255 bytes)')
  }
  const organizations = db.collection<OrganizationDocument>(`${prefix}organizations`)
  const admins = db.collection<AdminDocument>(`${prefix}admins`)
  const sessions = db.collection<SessionDocument>(`${prefix}sessions`)
  const refreshTokens = db.collection<RefreshTokenDocument>(`${prefix}refresh_tokens`)
  const auditEvents = db.collection<AuditEventDocument>(`${prefix}audit_events`)
  const domains = db.collection<DomainDocument>(`${prefix}domains`)
  const spaceName = (dataKey: string) => `${prefix}${dataKey}`
  const collectionIndexes = strategy === 'collection' ? ((options.indexes as IndexDescription[] | undefined) ?? []) : []
  const databaseCollections = strategy === 'database' ? Object.entries((options.indexes as Record<string, IndexDescription[]> | undefined) ?? {}) : []

  // Created once, idempotently; a failure (server unreachable) is retried by the next call.
  let ready: Promise<void> | undefined
  const ensureIndexes = () => {
    ready ??= Promise.all([
      organizations.createIndex({ nameKey: 1 }, { unique: true, name: 'nameKey_unique' }),
      // Partial: organizations stored before slugs existed have none until migrate() gives them one.
      organizations.createIndex({ slug: 1 }, { unique: true, name: 'slug_unique', partialFilterExpression: { slug: { $type: 'string' } } }),
      domains.createIndex({ organizationId: 1, _id: 1 }, { name: 'organizationId_domain' }),
      admins.createIndex({ email: 1 }, { unique: true, name: 'email_unique' }),
      admins.createIndex({ organizationId: 1 }, { name: 'organizationId' }),
      sessions.createIndex({ adminId: 1 }, { name: 'adminId' }),
      sessions.createIndex({ organizationId: 1 }, { name: 'organizationId' }),
      // MongoDB removes expired sessions and refresh tokens itself.
      sessions.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
      refreshTokens.createIndex({ sessionId: 1 }, { name: 'sessionId' }),
      refreshTokens.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
      auditEvents.createIndex({ organizationId: 1, at: -1 }, { name: 'organizationId_at' }),
    ]).then(
      () => undefined,
      (err: unknown) => {
        ready = undefined
        throw err
      },
    )
    return ready
  }

  const fromOrganization = ({ _id, ...rest }: OrganizationDocument): OrganizationRecord => ({ id: _id, ...rest })
  const fromAdmin = ({ _id, ...rest }: AdminDocument): AdminRecord => ({ id: _id, ...rest })
  const fromDomain = ({ _id, ...rest }: DomainDocument): DomainRecord => ({ domain: _id, ...rest })

  async function createCollection(target: Db, name: string, indexes: IndexDescription[]): Promise<void> {
    await target.createCollection(name).catch(ignoreCode(NAMESPACE_EXISTS))
    if (indexes.length > 0) await target.collection(name).createIndexes(indexes)
  }

  return {
    async insertOrganization(org) {
      await ensureIndexes()
      const { id, ...rest } = org
      await organizations.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(organizationConflict))
    },
    async findOrganization(query) {
      const doc = await organizations.findOne('id' in query ? { _id: query.id } : query)
      return doc ? fromOrganization(doc) : null
    },
    async updateOrganization(id, patch) {
      await ensureIndexes()
      const doc = await organizations
        .findOneAndUpdate({ _id: id }, { $set: patch }, { returnDocument: 'after' })
        .catch(rethrowDuplicate(organizationConflict))
      return doc ? fromOrganization(doc) : null
    },
    async deleteOrganization(id) {
      await organizations.deleteOne({ _id: id })
    },

    async insertAdmin(admin) {
      await ensureIndexes()
      const { id, ...rest } = admin
      await admins.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(() => new AdminEmailTakenError('an admin with this email already exists')))
    },
    async findAdmin(query) {
      const doc = await admins.findOne('id' in query ? { _id: query.id } : { email: query.email })
      return doc ? fromAdmin(doc) : null
    },
    async updateAdmin(id, patch) {
      await ensureIndexes()
      const doc = await admins
        .findOneAndUpdate({ _id: id }, { $set: patch }, { returnDocument: 'after' })
        .catch(rethrowDuplicate(() => new AdminEmailTakenError('an admin with this email already exists')))
      return doc ? fromAdmin(doc) : null
    },
    async deleteAdmins(organizationId) {
      await admins.deleteMany({ organizationId })
    },

    async insertDomain(record) {
      await ensureIndexes()
      const { domain, ...rest } = record
      await domains.insertOne({ _id: domain, ...rest }).catch(rethrowDuplicate(() => new DomainTakenError('another organization already uses this domain')))
    },
    async findDomain(domain) {
      const doc = await domains.findOne({ _id: domain })
      return doc ? fromDomain(doc) : null
    },
    async listDomains(organizationId) {
      return (await domains.find({ organizationId }).sort({ _id: 1 }).toArray()).map(fromDomain)
    },
    async deleteDomain(domain, organizationId) {
      return (await domains.deleteOne({ _id: domain, organizationId })).deletedCount === 1
    },
    async deleteDomains(organizationId) {
      await domains.deleteMany({ organizationId })
    },

    async insertSession(session) {
      await ensureIndexes()
      const { id, ...rest } = session
      await sessions.insertOne({ _id: id, ...rest })
    },
    async findSession(id) {
      const doc = await sessions.findOne({ _id: id })
      if (!doc) return null
      const { _id, ...rest } = doc
      return { id: _id, ...rest }
    },
    async deleteSessions(query) {
      const filter = 'id' in query ? { _id: query.id } : 'adminId' in query ? { adminId: query.adminId } : { organizationId: query.organizationId }
      const ids = (await sessions.find(filter, { projection: { _id: 1 } }).toArray()).map((doc) => doc._id)
      if (ids.length === 0) return
      // Tokens first: a session that is gone must never leave a usable refresh token behind.
      await refreshTokens.deleteMany({ sessionId: { $in: ids } })
      await sessions.deleteMany({ _id: { $in: ids } })
    },
    async insertRefreshToken(token) {
      await ensureIndexes()
      const { hash, ...rest } = token
      await refreshTokens.insertOne({ _id: hash, ...rest })
    },
    async consumeRefreshToken(hash, usedAt) {
      const consumed = await refreshTokens.findOneAndUpdate({ _id: hash, usedAt: null }, { $set: { usedAt } }, { returnDocument: 'after' })
      const doc = consumed ?? (await refreshTokens.findOne({ _id: hash }))
      if (!doc) return null
      const { _id, ...rest } = doc
      return { token: { hash: _id, ...rest }, consumed: consumed !== null }
    },

    async insertAuditEvent(event) {
      await ensureIndexes()
      const { id, ...rest } = event
      await auditEvents.insertOne({ _id: id, ...rest })
    },
    async listAuditEvents(organizationId, { limit, before }) {
      const filter = before === undefined ? { organizationId } : { organizationId, at: { $lt: before } }
      const docs = await auditEvents.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray()
      return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }))
    },
    async deleteAuditEvents(organizationId) {
      await auditEvents.deleteMany({ organizationId })
    },

    async provisionTenantData(org) {
      if (strategy === 'collection') return createCollection(db, spaceName(org.dataKey), collectionIndexes)
      const tenantDb = db.client.db(spaceName(org.dataKey))
      await createCollection(tenantDb, MARKER_COLLECTION, [])
      for (const [name, indexes] of databaseCollections) await createCollection(tenantDb, name, indexes)
    },
    async dropTenantData({ dataKey }) {
      if (strategy === 'collection') await db.collection(spaceName(dataKey)).drop().catch(ignoreCode(NAMESPACE_NOT_FOUND))
      else await db.client.db(spaceName(dataKey)).dropDatabase()
    },
    async listTenantDataKeys() {
      const pattern = new RegExp(`^${prefix}(t_[0-9a-f]{24})$`)
      const names =
        strategy === 'collection'
          ? (await db.listCollections({ name: { $regex: pattern.source } }, { nameOnly: true }).toArray()).map((info) => info.name)
          : (await db.admin().listDatabases({ nameOnly: true, filter: { name: { $regex: pattern.source } } })).databases.map((info) => info.name)
      return names.flatMap((name) => pattern.exec(name)?.[1] ?? [])
    },
    tenantData(org) {
      return strategy === 'collection' ? db.collection(spaceName(org.dataKey)) : db.client.db(spaceName(org.dataKey))
    },
    async *listOrganizations(options = {}) {
      const filter = options.afterId === undefined ? {} : { _id: { $gt: options.afterId } }
      for await (const doc of organizations.find(filter).sort({ _id: 1 })) yield fromOrganization(doc)
    },
  }
}

function errorCode(err: unknown): unknown {
  return (err as Partial<MongoServerError> | null)?.code
}

function ignoreCode(code: number) {
  return (err: unknown) => {
    if (errorCode(err) !== code) throw err
  }
}

/** Which unique index refused an organization write: the server names it in `keyPattern`. */
function organizationConflict(err: unknown): Error {
  const keyPattern = (err as { keyPattern?: Record<string, unknown> }).keyPattern ?? {}
  if ('slug' in keyPattern) return new SlugTakenError('an organization with this slug already exists')
  return new OrganizationNameTakenError('an organization with this name already exists')
}

function rethrowDuplicate(conflict: (err: unknown) => Error) {
  return (err: unknown): never => {
    if (errorCode(err) === DUPLICATE_KEY) {
      const error = conflict(err)
      ;(error as { cause?: unknown }).cause = err
      throw error
    }
    throw err
  }
}
