import type { CollectionOptions, Db, Filter } from 'mongodb'
import type { CollectionDeclarations } from '../../data/collection-types.js'
import { parseDeclarations, parseTenantField } from '../../data/declarations.js'
import {
  EmailTakenError,
  AlreadyMemberError,
  DomainTakenError,
  InvitationPendingError,
  OrganizationNameTakenError,
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
import {
  dataSpaceIndexes,
  MARKER_COLLECTION,
  mongoTenantData,
  type DataSpaceDocument,
  type MongoStrategy,
} from './mongo-tenant-data.js'

export interface MongoStoreOptions {
  /** The host's database: it holds the organizations, the admins and, on `'prefix'` and `'shared'`, the tenants' collections. */
  db: Db
  /**
   * - `'prefix'` (default): each tenant's collections in `db`, named `<prefix>t_<key>_<name>`.
   * - `'database'`: a database per tenant, `<prefix>t_<key>`, holding its collections by name.
   * - `'shared'`: one collection per name for every tenant, `<prefix>data_<name>`, each document
   *   carrying the organization id in `tenantField`; isolation is enforced on every operation.
   */
  strategy?: MongoStrategy
  /** The collections every tenant has, with their indexes: `{ notes: {}, invoices: { indexes: [{ key: { number: 1 }, unique: true }] } }`. */
  collections?: CollectionDeclarations
  /** With `strategy: 'shared'`: the field that holds the organization id. Default `'tenantId'`. */
  tenantField?: string
  /** Prefix of every name tenantry creates. Default `'tenantry_'`. */
  prefix?: string
  /**
   * With `'prefix'` or `'database'`: the most namespaces (collections + indexes) tenants may take
   * in all. A create that would pass it is refused with `CapacityExceededError` (503). See the
   * docs/data-and-strategies.md for the budget per Atlas tier.
   */
  maxNamespaces?: number
  /**
   * Read preference, read concern and write concern of tenantry's own collections
   * (organizations, admins, sessions, audit, domains), whatever the host's `Db` uses. Default:
   * primary, majority and majority, so a record just written is never read as missing from a
   * lagging secondary (and taken for an orphan), and uniqueness conflicts are always reported.
   */
  consistency?: Pick<CollectionOptions, 'readPreference' | 'readConcern' | 'writeConcern'>
}

const CONSISTENT: Pick<CollectionOptions, 'readPreference' | 'readConcern' | 'writeConcern'> = {
  readPreference: 'primary',
  readConcern: { level: 'majority' },
  writeConcern: { w: 'majority' },
}

type OrganizationDocument = Omit<OrganizationRecord, 'id'> & { _id: string }
type AccountDocument = Omit<AccountRecord, 'id'> & { _id: string }
type MembershipDocument = Omit<MembershipRecord, 'id'> & { _id: string }
type InvitationDocument = Omit<InvitationRecord, 'id'> & { _id: string }
type DomainDocument = Omit<DomainRecord, 'domain'> & { _id: string }
type SessionDocument = Omit<SessionRecord, 'id'> & { _id: string }
type RefreshTokenDocument = Omit<RefreshTokenRecord, 'hash'> & { _id: string }
type AuditEventDocument = Omit<AuditEvent, 'id'> & { _id: string }

// MongoDB's own limits: database names under 64 bytes, namespaces (db.collection) under 255.
const PREFIX = /^[a-z][a-z0-9_]{0,19}$/
const DATA_KEY_BYTES = 26 // newDataKey(): 't_' + 24 hex digits
const DUPLICATE_KEY = 11000

/**
 * The MongoDB store, over the host's own `Db` from the official driver: organizations, admins,
 * domains, sessions and audit events in `<prefix>…` collections with unique indexes, and each
 * tenant's declared collections by the chosen strategy, named after the organization's stable
 * data key (or id), so a rename never moves data. Every tenant handle is a `ScopedCollection`:
 * the driver's everyday methods, and no path to `db`, `client` or anything outside the tenant.
 *
 * @example
 * const client = await MongoClient.connect(process.env.MONGODB_URI!)
 * const store = mongoStore({ db: client.db('app'), collections: { notes: { indexes: [{ key: { createdAt: 1 } }] } } })
 */
export function mongoStore(options: MongoStoreOptions): TenantStore {
  if (typeof options !== 'object' || options === null || typeof options.db?.collection !== 'function') {
    throw new TypeError('tenantry: mongoStore needs { db }, a Db from the mongodb driver')
  }
  const { db, strategy = 'prefix', prefix = 'tenantry_', maxNamespaces } = options
  if (strategy !== 'prefix' && strategy !== 'database' && strategy !== 'shared')
    throw new TypeError("tenantry: strategy must be 'prefix', 'database' or 'shared'")
  if (!PREFIX.test(prefix))
    throw new TypeError('tenantry: prefix must be a lower-case letter and up to 19 more of [a-z0-9_]')
  const declared = parseDeclarations(options.collections)
  const tenantField = parseTenantField(options.tenantField)
  if (maxNamespaces !== undefined && (!Number.isInteger(maxNamespaces) || maxNamespaces <= 0))
    throw new TypeError('tenantry: maxNamespaces must be a positive whole number')
  if (maxNamespaces !== undefined && strategy === 'shared')
    throw new TypeError("tenantry: maxNamespaces counts namespaces per tenant, which 'shared' does not create")
  const longest = Math.max(0, ...[...declared.keys()].map((name) => Buffer.byteLength(name)))
  const namespace =
    strategy === 'prefix'
      ? `${db.databaseName}.${prefix}${'x'.repeat(DATA_KEY_BYTES)}_${'x'.repeat(longest)}`
      : strategy === 'shared'
        ? `${db.databaseName}.${prefix}data_${'x'.repeat(longest)}`
        : `${prefix}${'x'.repeat(DATA_KEY_BYTES)}.${'x'.repeat(longest)}`
  if (Buffer.byteLength(namespace) >= 255)
    throw new TypeError(
      'tenantry: the database and collection names are too long for MongoDB namespaces (under 255 bytes)',
    )
  const consistency = { ...CONSISTENT, ...options.consistency }
  assertConsistency(consistency)
  // Every collection of tenantry's own, by its full name, so no declared collection can map onto one.
  const ownNames = new Set<string>()
  const own = <TSchema extends { _id: string }>(name: string) => {
    ownNames.add(`${prefix}${name}`)
    return db.collection<TSchema>(`${prefix}${name}`, consistency)
  }
  const organizations = own<OrganizationDocument>('organizations')
  const accounts = own<AccountDocument>('accounts')
  const memberships = own<MembershipDocument>('memberships')
  const invitations = own<InvitationDocument>('invitations')
  const sessions = own<SessionDocument>('sessions')
  const refreshTokens = own<RefreshTokenDocument>('refresh_tokens')
  const auditEvents = own<AuditEventDocument>('audit_events')
  const domains = own<DomainDocument>('domains')
  const spaces = own<DataSpaceDocument>('spaces')
  for (const name of declared.keys()) {
    const physical =
      strategy === 'shared' ? `${prefix}data_${name}` : strategy === 'database' ? name : `${prefix}t_${name}`
    if (ownNames.has(physical) || (strategy === 'database' && name === MARKER_COLLECTION)) {
      throw new TypeError(
        `tenantry: the collection name ${JSON.stringify(name)} would be ${physical}, one of tenantry's own collections; choose another`,
      )
    }
  }
  const data = mongoTenantData(strategy, {
    db,
    spaces,
    prefix,
    declared,
    tenantField,
    maxNamespaces,
    countOrganizations: () => organizations.countDocuments(),
  })

  // Created once, idempotently; a failure (server unreachable) is retried by the next call.
  let ready: Promise<void> | undefined
  const ensureIndexes = () => {
    ready ??= Promise.all([
      organizations.createIndex({ nameKey: 1 }, { unique: true, name: 'nameKey_unique' }),
      // Partial: organizations stored before slugs existed have none until migrate() gives them one.
      organizations.createIndex(
        { slug: 1 },
        { unique: true, name: 'slug_unique', partialFilterExpression: { slug: { $type: 'string' } } },
      ),
      domains.createIndex({ organizationId: 1, _id: 1 }, { name: 'organizationId_domain' }),
      accounts.createIndex({ email: 1 }, { unique: true, name: 'email_unique' }),
      memberships.createIndex(
        { accountId: 1, organizationId: 1 },
        { unique: true, name: 'account_organization_unique' },
      ),
      memberships.createIndex({ organizationId: 1, _id: 1 }, { name: 'organizationId_id' }),
      invitations.createIndex({ organizationId: 1, email: 1 }, { unique: true, name: 'organization_email_unique' }),
      invitations.createIndex({ tokenHash: 1 }, { unique: true, name: 'tokenHash_unique' }),
      // Expired invitations go by themselves; until the TTL monitor runs, the core refuses them by date.
      invitations.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
      sessions.createIndex({ accountId: 1 }, { name: 'accountId' }),
      sessions.createIndex({ membershipId: 1 }, { name: 'membershipId' }),
      sessions.createIndex({ organizationId: 1 }, { name: 'organizationId' }),
      // MongoDB removes expired sessions and refresh tokens itself.
      sessions.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
      refreshTokens.createIndex({ sessionId: 1 }, { name: 'sessionId' }),
      refreshTokens.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 }),
      // Covers the page query's filter and its whole sort, ties included.
      auditEvents.createIndex({ organizationId: 1, at: -1, _id: -1 }, { name: 'organizationId_at_id' }),
      spaces.createIndexes(dataSpaceIndexes),
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
  const fromAccount = ({ _id, ...rest }: AccountDocument): AccountRecord => ({ id: _id, ...rest })
  const fromMembership = ({ _id, ...rest }: MembershipDocument): MembershipRecord => ({ id: _id, ...rest })
  const fromInvitation = ({ _id, ...rest }: InvitationDocument): InvitationRecord => ({ id: _id, ...rest })
  const fromDomain = ({ _id, ...rest }: DomainDocument): DomainRecord => ({ domain: _id, ...rest })

  return {
    collectionNames: Object.freeze([...declared.keys()]),
    ...data,

    async insertOrganization(org) {
      await ensureIndexes()
      const { id, stateChangedAt: _appClock, ...rest } = org
      // An upsert, for the server's clock on stateChangedAt. A record with this id always has
      // the field, so the filter never matches one: a reused id is a duplicate _id, as with insertOne.
      await organizations
        .updateOne(
          { _id: id, stateChangedAt: { $exists: false } },
          { $setOnInsert: rest, $currentDate: { stateChangedAt: true } },
          { upsert: true },
        )
        .catch(rethrowDuplicate(organizationConflicts))
    },
    async findOrganization(query) {
      const doc = await organizations.findOne('id' in query ? { _id: query.id } : query)
      return doc ? fromOrganization(doc) : null
    },
    async updateOrganization(id, patch, expected) {
      await ensureIndexes()
      const doc = await organizations
        .findOneAndUpdate(
          { _id: id, ...(expected ? { ownerId: expected.ownerId } : {}) },
          { $set: patch },
          { returnDocument: 'after' },
        )
        .catch(rethrowDuplicate(organizationConflicts))
        .catch(markRefusal)
      return doc ? fromOrganization(doc) : null
    },
    async transitionOrganization(id, { from, to, staleForMs }) {
      const filter: Filter<OrganizationDocument> = { _id: id, state: { $in: [...from] } }
      // Staleness on the server's clock, the one stateChangedAt was stamped with.
      if (staleForMs !== undefined) filter.$expr = { $lte: ['$stateChangedAt', { $subtract: ['$$NOW', staleForMs] }] }
      const doc = await organizations
        .findOneAndUpdate(
          filter,
          { $set: { state: to }, $currentDate: { stateChangedAt: true } },
          { returnDocument: 'after' },
        )
        .catch(markRefusal)
      return doc ? fromOrganization(doc) : null
    },
    async deleteOrganization(id) {
      await organizations.deleteOne({ _id: id })
    },

    async insertAccount(account) {
      await ensureIndexes()
      const { id, ...rest } = account
      await accounts.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(accountConflicts))
    },
    async findAccount(query) {
      const doc = await accounts.findOne('id' in query ? { _id: query.id } : { email: query.email })
      return doc ? fromAccount(doc) : null
    },
    async updateAccount(id, patch, expected) {
      await ensureIndexes()
      const doc = await accounts
        .findOneAndUpdate(
          { _id: id, ...(expected ? { passwordHash: expected.passwordHash } : {}) },
          { $set: patch },
          { returnDocument: 'after' },
        )
        .catch(rethrowDuplicate(accountConflicts))
        .catch(markRefusal)
      return doc ? fromAccount(doc) : null
    },
    async deleteAccount(id) {
      await accounts.deleteOne({ _id: id })
    },

    async insertMembership(record) {
      await ensureIndexes()
      const { id, ...rest } = record
      await memberships.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(membershipConflicts))
    },
    async findMembership(query) {
      const doc = await memberships.findOne(
        'id' in query ? { _id: query.id } : { accountId: query.accountId, organizationId: query.organizationId },
      )
      return doc ? fromMembership(doc) : null
    },
    async listMemberships(query) {
      return (await memberships.find(query).sort({ _id: 1 }).toArray()).map(fromMembership)
    },
    async updateMembership(id, patch, expected) {
      const doc = await memberships
        .findOneAndUpdate(
          { _id: id, ...(expected ? { role: expected.role } : {}) },
          { $set: patch },
          { returnDocument: 'after' },
        )
        .catch(markRefusal)
      return doc ? fromMembership(doc) : null
    },
    async deleteMembership(id, organizationId) {
      return (await memberships.deleteOne({ _id: id, organizationId })).deletedCount === 1
    },
    async deleteMemberships(organizationId) {
      await memberships.deleteMany({ organizationId })
    },
    async *walkMemberships(walkOptions = {}) {
      const filter = walkOptions.afterId === undefined ? {} : { _id: { $gt: walkOptions.afterId } }
      for await (const doc of memberships.find(filter).sort({ _id: 1 })) yield fromMembership(doc)
    },

    async insertInvitation(record) {
      await ensureIndexes()
      const { id, ...rest } = record
      await invitations.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(invitationConflicts))
    },
    async findInvitation(query) {
      const doc = await invitations.findOne('id' in query ? { _id: query.id } : { tokenHash: query.tokenHash })
      return doc ? fromInvitation(doc) : null
    },
    async listInvitations(organizationId) {
      return (await invitations.find({ organizationId }).sort({ createdAt: 1, _id: 1 }).toArray()).map(fromInvitation)
    },
    async deleteInvitation(id, organizationId) {
      return (await invitations.deleteOne({ _id: id, organizationId })).deletedCount === 1
    },
    async deleteInvitations(organizationId) {
      await invitations.deleteMany({ organizationId })
    },

    async insertDomain(record) {
      await ensureIndexes()
      const { domain, ...rest } = record
      await domains.insertOne({ _id: domain, ...rest }).catch(rethrowDuplicate(domainConflicts))
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
      const filter = 'id' in query ? { _id: query.id } : query
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
      const consumed = await refreshTokens.findOneAndUpdate(
        { _id: hash, $or: [{ usedAt: null }, { retryUntil: { $gt: usedAt } }] },
        { $set: { usedAt, retryUntil: null } },
        { returnDocument: 'after' },
      )
      const doc = consumed ?? (await refreshTokens.findOne({ _id: hash }))
      if (!doc) return null
      const { _id, ...rest } = doc
      return { token: { hash: _id, ...rest }, consumed: consumed !== null }
    },

    async releaseRefreshToken(hash, usedAt, retryUntil) {
      await refreshTokens.updateOne({ _id: hash, usedAt }, { $set: { retryUntil } })
    },

    async insertAuditEvent(event) {
      await ensureIndexes()
      const { id, ...rest } = event
      await auditEvents.insertOne({ _id: id, ...rest })
    },
    async listAuditEvents(organizationId, { limit, before, after }) {
      const filter: Record<string, unknown> =
        before === undefined ? { organizationId } : { organizationId, at: { $lt: before } }
      if (after) filter.$or = [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }]
      const docs = await auditEvents.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray()
      return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }))
    },
    async deleteAuditEvents(organizationId) {
      await auditEvents.deleteMany({ organizationId })
    },

    async *listOrganizations(listOptions = {}) {
      const filter = listOptions.afterId === undefined ? {} : { _id: { $gt: listOptions.afterId } }
      for await (const doc of organizations.find(filter).sort({ _id: 1 })) yield fromOrganization(doc)
    },
  }
}

/**
 * Tenantry's own records are read back to decide what is stale or orphaned, and written to
 * claim names: a lagging secondary or an unacknowledged write makes both wrong, so neither is
 * accepted even as an override.
 */
function assertConsistency(
  consistency: Pick<CollectionOptions, 'readPreference' | 'readConcern' | 'writeConcern'>,
): void {
  const { readPreference, writeConcern } = consistency
  const mode = typeof readPreference === 'string' ? readPreference : readPreference?.mode
  if (mode !== undefined && mode !== 'primary')
    throw new TypeError(
      "tenantry: consistency.readPreference must be 'primary': a secondary can miss an organization just created and take its data for an orphan",
    )
  const w = writeConcern && 'w' in writeConcern ? writeConcern.w : undefined
  if (w === 0)
    throw new TypeError(
      'tenantry: consistency.writeConcern must be acknowledged (not w: 0): uniqueness conflicts are only reported to acknowledged writes',
    )
}

/**
 * Marks a server error that certainly did not apply (`refused: true`): the server answered the
 * command with an error, and no write-concern error or retryable label says it may have run.
 * Network errors and timeouts stay unmarked: the core treats them as "may have applied".
 */
function markRefusal(err: unknown): never {
  // By name, not instanceof: this module loads without the driver, and the host's copy may differ.
  const error = err as {
    name?: unknown
    errInfo?: { writeConcernError?: unknown }
    writeConcernError?: unknown
    errorLabels?: unknown
  } | null
  const labels = Array.isArray(error?.errorLabels) ? error.errorLabels : []
  if (
    error?.name === 'MongoServerError' &&
    error.errInfo?.writeConcernError === undefined &&
    error.writeConcernError === undefined &&
    !labels.includes('RetryableWriteError') &&
    !labels.includes('UnknownTransactionCommitResult')
  ) {
    ;(err as { refused?: boolean }).refused = true
  }
  throw err
}

/**
 * Which unique index refused a write, as the server names it in `keyPattern` (and, for a
 * write-concern error that arrived with it, in `writeErrors`). Only the indexes that stand for
 * a taken name, slug, email or domain become those errors; any other duplicate (an `_id`, an
 * index tenantry did not make) is passed on as it is, never dressed up as "taken".
 */
function duplicateIndex(err: unknown): string[] | undefined {
  const error = err as {
    code?: unknown
    keyPattern?: Record<string, unknown>
    writeErrors?: { code?: unknown; keyPattern?: Record<string, unknown> }[]
  }
  if (error?.code === DUPLICATE_KEY && error.keyPattern) return Object.keys(error.keyPattern)
  const written = error?.writeErrors?.find((writeError) => writeError.code === DUPLICATE_KEY && writeError.keyPattern)
  return written ? Object.keys(written.keyPattern!) : undefined
}

const organizationConflicts = {
  nameKey: () => new OrganizationNameTakenError('an organization with this name already exists'),
  slug: () => new SlugTakenError('an organization with this slug already exists'),
}
const accountConflicts = { email: () => new EmailTakenError('an account with this email already exists') }
const membershipConflicts = {
  accountId: () => new AlreadyMemberError('this account is already a member of the organization'),
}
const invitationConflicts = {
  organizationId: () => new InvitationPendingError('this email already has a pending invitation to the organization'),
}
const domainConflicts = { _id: () => new DomainTakenError('another organization already uses this domain') }

function rethrowDuplicate(conflicts: Record<string, () => Error>) {
  return (err: unknown): never => {
    const [field] = duplicateIndex(err) ?? []
    const conflict = field === undefined ? undefined : conflicts[field]
    if (conflict) {
      const error = conflict()
      ;(error as { cause?: unknown }).cause = err
      throw error
    }
    throw err
  }
}
