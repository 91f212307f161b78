import type { Collection, Filter } from 'mongodb'
import type { RecordStore } from '../../control/record-store.js'
import type {
  AccountRecord,
  AuditEvent,
  DomainRecord,
  InvitationRecord,
  MembershipRecord,
  OrganizationRecord,
  RefreshTokenRecord,
  SessionRecord,
} from '../../control/records.js'
import {
  accountConflicts,
  domainConflicts,
  invitationConflicts,
  markRefusal,
  membershipConflicts,
  organizationConflicts,
  rethrowDuplicate,
} from './mongo-write-errors.js'

export type OrganizationDocument = Omit<OrganizationRecord, 'id'> & { _id: string }
export type AccountDocument = Omit<AccountRecord, 'id'> & { _id: string }
export type MembershipDocument = Omit<MembershipRecord, 'id'> & { _id: string }
export type InvitationDocument = Omit<InvitationRecord, 'id'> & { _id: string }
export type DomainDocument = Omit<DomainRecord, 'domain'> & { _id: string }
export type SessionDocument = Omit<SessionRecord, 'id'> & { _id: string }
export type RefreshTokenDocument = Omit<RefreshTokenRecord, 'hash'> & { _id: string }
export type AuditEventDocument = Omit<AuditEvent, 'id'> & { _id: string }

/** tenantry's own collections, one per record. */
export interface RecordCollections {
  organizations: Collection<OrganizationDocument>
  accounts: Collection<AccountDocument>
  memberships: Collection<MembershipDocument>
  invitations: Collection<InvitationDocument>
  domains: Collection<DomainDocument>
  sessions: Collection<SessionDocument>
  refreshTokens: Collection<RefreshTokenDocument>
  auditEvents: Collection<AuditEventDocument>
}

// A partial index serves only queries that contain its filter: the planner cannot tell on its
// own that { slug: 'acme' } implies { slug: { $type: 'string' } }, and would scan every document.
const WITH_SLUG = { slug: { $type: 'string' } } as const
const WITH_EMAIL = { email: { $type: 'string' } } as const
const WITH_SUBJECT = { subject: { $type: 'string' } } as const

/** Sessions removed per round of a delete: ten thousand ids are some 400 KB of `$in`. */
const SESSION_BATCH = 10_000

/**
 * The MongoDB store's records: a document per record, `_id` the record's id, uniqueness by the
 * unique indexes `migrate` builds. A write that relies on one first checks (once) that they exist.
 */
export function mongoRecords(
  collections: RecordCollections,
  indexes: { migrate(): Promise<void>; indexesBuilt(): Promise<void> },
): Required<Omit<RecordStore, 'transaction'>> {
  const { indexesBuilt } = indexes
  const { organizations, accounts, memberships, invitations, domains, sessions, refreshTokens, auditEvents } =
    collections
  const fromOrganization = ({ _id, ...rest }: OrganizationDocument): OrganizationRecord => ({ id: _id, ...rest })
  const fromAccount = ({ _id, ...rest }: AccountDocument): AccountRecord => ({ id: _id, ...rest })
  const fromMembership = ({ _id, ...rest }: MembershipDocument): MembershipRecord => ({ id: _id, ...rest })
  const fromInvitation = ({ _id, ...rest }: InvitationDocument): InvitationRecord => ({ id: _id, ...rest })
  const fromDomain = ({ _id, ...rest }: DomainDocument): DomainRecord => ({ domain: _id, ...rest })

  return {
    migrate: indexes.migrate,
    organizations: {
      async insert(org) {
        await indexesBuilt()
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
      async find(query) {
        const doc = await organizations.findOne(
          'id' in query ? { _id: query.id } : 'slug' in query ? { $and: [query, WITH_SLUG] } : query,
        )
        return doc ? fromOrganization(doc) : null
      },
      async update(id, patch, expected) {
        await indexesBuilt()
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
      async transition(id, { from, to, staleForMs }) {
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
      async delete(id) {
        await organizations.deleteOne({ _id: id })
      },
      list: (listOptions = {}) => byId(organizations, listOptions.afterId, fromOrganization),
    },

    accounts: {
      async insert(account) {
        await indexesBuilt()
        const { id, createdAt: _appClock, ...rest } = account
        // An upsert, as for organizations: createdAt on the server's clock, a reused id a duplicate _id.
        await accounts
          .updateOne(
            { _id: id, createdAt: { $exists: false } },
            { $setOnInsert: rest, $currentDate: { createdAt: true } },
            { upsert: true },
          )
          .catch(rethrowDuplicate(accountConflicts))
      },
      async find(query) {
        const doc = await accounts.findOne(
          'id' in query
            ? { _id: query.id }
            : 'email' in query
              ? { $and: [{ email: query.email }, WITH_EMAIL] }
              : { $and: [{ subject: query.subject }, WITH_SUBJECT] },
        )
        return doc ? fromAccount(doc) : null
      },
      async update(id, patch, expected) {
        await indexesBuilt()
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
      async delete(id, options = {}) {
        const filter: Filter<AccountDocument> = { _id: id }
        if (options.staleForMs !== undefined)
          filter.$expr = { $lte: ['$createdAt', { $subtract: ['$$NOW', options.staleForMs] }] }
        return (await accounts.deleteOne(filter)).deletedCount === 1
      },
    },

    memberships: {
      async insert(record) {
        await indexesBuilt()
        const { id, ...rest } = record
        await memberships.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(membershipConflicts))
      },
      async find(query) {
        const doc = await memberships.findOne(
          'id' in query ? { _id: query.id } : { accountId: query.accountId, organizationId: query.organizationId },
        )
        return doc ? fromMembership(doc) : null
      },
      async list(query) {
        const filter = 'accountIds' in query ? { accountId: { $in: query.accountIds } } : query
        return (await memberships.find(filter).sort({ _id: 1 }).toArray()).map(fromMembership)
      },
      async update(id, patch, expected) {
        const doc = await memberships
          .findOneAndUpdate(
            { _id: id, ...(expected ? { role: expected.role } : {}) },
            { $set: patch },
            { returnDocument: 'after' },
          )
          .catch(markRefusal)
        return doc ? fromMembership(doc) : null
      },
      async delete(id, organizationId) {
        return (await memberships.deleteOne({ _id: id, organizationId })).deletedCount === 1
      },
      async deleteByOrganization(organizationId) {
        await memberships.deleteMany({ organizationId })
      },
      walk: (walkOptions = {}) => byId(memberships, walkOptions.afterId, fromMembership),
    },

    invitations: {
      async insert(record) {
        await indexesBuilt()
        const { id, ...rest } = record
        await invitations.insertOne({ _id: id, ...rest }).catch(rethrowDuplicate(invitationConflicts))
      },
      async find(query) {
        const doc = await invitations.findOne('id' in query ? { _id: query.id } : { tokenHash: query.tokenHash })
        return doc ? fromInvitation(doc) : null
      },
      async list(organizationId) {
        return (await invitations.find({ organizationId }).sort({ createdAt: 1, _id: 1 }).toArray()).map(fromInvitation)
      },
      async delete(id, organizationId) {
        return (await invitations.deleteOne({ _id: id, organizationId })).deletedCount === 1
      },
      async deleteByOrganization(organizationId) {
        await invitations.deleteMany({ organizationId })
      },
    },

    domains: {
      async insert(record) {
        await indexesBuilt()
        const { domain, ...rest } = record
        await domains.insertOne({ _id: domain, ...rest }).catch(rethrowDuplicate(domainConflicts))
      },
      async find(domain) {
        const doc = await domains.findOne({ _id: domain })
        return doc ? fromDomain(doc) : null
      },
      async list(organizationId) {
        return (await domains.find({ organizationId }).sort({ _id: 1 }).toArray()).map(fromDomain)
      },
      async delete(domain, organizationId) {
        return (await domains.deleteOne({ _id: domain, organizationId })).deletedCount === 1
      },
      async deleteByOrganization(organizationId) {
        await domains.deleteMany({ organizationId })
      },
    },

    sessions: {
      async insert(session) {
        await indexesBuilt()
        const { id, ...rest } = session
        await sessions.insertOne({ _id: id, ...rest })
      },
      async find(id) {
        const doc = await sessions.findOne({ _id: id })
        if (!doc) return null
        const { _id, ...rest } = doc
        return { id: _id, ...rest }
      },
      async list({ accountId }) {
        // The TTL monitor runs once a minute: an expired session may still be there.
        const docs = await sessions
          .find({ accountId, expiresAt: { $gt: new Date() } })
          .sort({ createdAt: 1, _id: 1 })
          .toArray()
        return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }))
      },
      async delete(query) {
        const filter = 'id' in query ? { _id: query.id } : query
        // In batches: one $in of every session of a large organization would pass 16 MB.
        for (;;) {
          const ids = (await sessions.find(filter, { projection: { _id: 1 }, limit: SESSION_BATCH }).toArray()).map(
            (doc) => doc._id,
          )
          if (ids.length === 0) return
          // Tokens first: a session that is gone must never leave a usable refresh token behind.
          await refreshTokens.deleteMany({ sessionId: { $in: ids } })
          await sessions.deleteMany({ _id: { $in: ids } })
          if (ids.length < SESSION_BATCH) return
        }
      },
      async insertRefreshToken(token) {
        await indexesBuilt()
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
    },

    audit: {
      async insert(event) {
        await indexesBuilt()
        const { id, ...rest } = event
        await auditEvents.insertOne({ _id: id, ...rest })
      },
      async list(organizationId, { limit, before, after }) {
        const filter: Record<string, unknown> =
          before === undefined ? { organizationId } : { organizationId, at: { $lt: before } }
        if (after) filter.$or = [{ at: { $lt: after.at } }, { at: after.at, _id: { $lt: after.id } }]
        const docs = await auditEvents.find(filter).sort({ at: -1, _id: -1 }).limit(limit).toArray()
        return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }))
      },
      async deleteByOrganization(organizationId) {
        await auditEvents.deleteMany({ organizationId })
      },
    },
  }
}

/** Documents read per page of a walk. */
const PAGE = 500

/**
 * Every document in `_id` order after `afterId`, a page at a time, each page read whole before
 * any is handed on: what the caller does between documents (a teardown, a migration) never keeps
 * a server cursor open past its idle timeout.
 */
async function* byId<TDoc extends { _id: string }, TRecord>(
  collection: Collection<TDoc>,
  afterId: string | undefined,
  map: (doc: TDoc) => TRecord,
): AsyncGenerator<TRecord> {
  let after = afterId
  for (;;) {
    const filter = (after === undefined ? {} : { _id: { $gt: after } }) as Filter<TDoc>
    const page = (await collection.find(filter).sort({ _id: 1 }).limit(PAGE).toArray()) as TDoc[]
    for (const doc of page) yield map(doc)
    if (page.length < PAGE) return
    after = page.at(-1)!._id
  }
}
