import type { CollectionOptions, Db } from 'mongodb'
import type { CollectionDeclarations } from '../../data/collection-types.js'
import { parseDeclarations, parseTenantField } from '../../data/declarations.js'
import type { Store } from '../../store.js'
import { buildIndexes, indexCheck, type IndexPlan } from './mongo-indexes.js'
import {
  mongoRecords,
  type AccountDocument,
  type AuditEventDocument,
  type DomainDocument,
  type InvitationDocument,
  type MembershipDocument,
  type OrganizationDocument,
  type RefreshTokenDocument,
  type SessionDocument,
} from './mongo-records.js'
import { MARKER_COLLECTION, mongoTenantData, type DataSpaceDocument, type MongoStrategy } from './mongo-tenant-data.js'

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
   * With `'database'`: the most tenant databases there may be. Atlas Free and Flex clusters hold
   * 100 databases in all (yours and `admin` included); past it a create would fail with Atlas's
   * own error. Here it is refused with `CapacityExceededError` (503), nothing left behind.
   */
  maxDatabases?: number
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

// MongoDB's own limits: database names under 64 bytes, namespaces (db.collection) under 255.
const PREFIX = /^[a-z][a-z0-9_]{0,19}$/
const DATA_KEY_BYTES = 26 // newDataKey(): 't_' + 24 hex digits

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
export function mongoStore(options: MongoStoreOptions): Store {
  if (typeof options !== 'object' || options === null || typeof options.db?.collection !== 'function') {
    throw new TypeError('tenantry: mongoStore needs { db }, a Db from the mongodb driver')
  }
  const { db, strategy = 'prefix', prefix = 'tenantry_', maxNamespaces, maxDatabases } = options
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
  if (maxDatabases !== undefined && (!Number.isInteger(maxDatabases) || maxDatabases <= 0))
    throw new TypeError('tenantry: maxDatabases must be a positive whole number')
  if (maxDatabases !== undefined && strategy !== 'database')
    throw new TypeError("tenantry: maxDatabases counts a database per tenant, which only 'database' creates")
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
    maxDatabases,
    upkeep: { readPreference: consistency.readPreference, readConcern: consistency.readConcern },
    // From the collection's metadata: a budget check need not read every organization.
    countOrganizations: () => organizations.estimatedDocumentCount(),
  })

  // Built by migrate() at deploy; a write checks once per process that they exist.
  const recordIndexes: IndexPlan[] = [
    [
      organizations,
      [
        { key: { nameKey: 1 }, unique: true, name: 'nameKey_unique' },
        // Suspended and in-flight organizations are found by state (the back office, recovery).
        { key: { state: 1, _id: 1 }, name: 'state_id' },
        // Partial: organizations stored before slugs existed have none until migrate() gives them one.
        {
          key: { slug: 1 },
          unique: true,
          name: 'slug_unique',
          partialFilterExpression: { slug: { $type: 'string' } },
        },
      ],
    ],
    [domains, [{ key: { organizationId: 1, _id: 1 }, name: 'organizationId_domain' }]],
    [
      accounts,
      [
        // Partial: a host user linked without an email has none, and any number may lack one.
        {
          key: { email: 1 },
          unique: true,
          name: 'email_unique',
          partialFilterExpression: { email: { $type: 'string' } },
        },
        {
          key: { subject: 1 },
          unique: true,
          name: 'subject_unique',
          partialFilterExpression: { subject: { $type: 'string' } },
        },
      ],
    ],
    [
      memberships,
      [
        { key: { accountId: 1, organizationId: 1 }, unique: true, name: 'account_organization_unique' },
        { key: { organizationId: 1, _id: 1 }, name: 'organizationId_id' },
      ],
    ],
    [
      invitations,
      [
        { key: { organizationId: 1, email: 1 }, unique: true, name: 'organization_email_unique' },
        { key: { tokenHash: 1 }, unique: true, name: 'tokenHash_unique' },
        // Expired invitations go by themselves; until the TTL monitor runs, the core refuses them by date.
        { key: { expiresAt: 1 }, name: 'expiresAt_ttl', expireAfterSeconds: 0 },
      ],
    ],
    [
      sessions,
      [
        { key: { accountId: 1 }, name: 'accountId' },
        { key: { membershipId: 1 }, name: 'membershipId' },
        { key: { organizationId: 1 }, name: 'organizationId' },
        // MongoDB removes expired sessions and refresh tokens itself.
        { key: { expiresAt: 1 }, name: 'expiresAt_ttl', expireAfterSeconds: 0 },
      ],
    ],
    [
      refreshTokens,
      [
        { key: { sessionId: 1 }, name: 'sessionId' },
        { key: { expiresAt: 1 }, name: 'expiresAt_ttl', expireAfterSeconds: 0 },
      ],
    ],
    // Covers the page query's filter and its whole sort, ties included.
    [auditEvents, [{ key: { organizationId: 1, at: -1, _id: -1 }, name: 'organizationId_at_id' }]],
  ]

  return {
    records: mongoRecords(
      { organizations, accounts, memberships, invitations, domains, sessions, refreshTokens, auditEvents },
      { migrate: () => buildIndexes(recordIndexes), indexesBuilt: indexCheck(recordIndexes) },
    ),
    data: { collectionNames: Object.freeze([...declared.keys()]), ...data },
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
