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
import { taken } from '../../control/taken.js'
import { UniqueTable } from './unique-table.js'

/** Used refresh tokens kept per session, so a replay of a recent one is still recognised. */
const USED_TOKENS_KEPT = 8
/** Sessions and refresh tokens written between two sweeps of the expired ones. */
const SWEEP_EVERY = 1000

/**
 * The memory store's records. Unique names, slugs, emails and domains are checked and claimed
 * in one synchronous step (so concurrent creates cannot both win), and records are copied in and
 * out so no caller holds a reference into the store.
 */
export function memoryRecords(): Required<Omit<RecordStore, 'transaction' | 'migrate'>> {
  const organizations = new UniqueTable<OrganizationRecord, 'nameKey' | 'slug'>({
    unique: {
      nameKey: taken.name,
      slug: taken.slug,
    },
    dateFields: ['stateChangedAt', 'createdAt', 'updatedAt'],
  })
  const accounts = new UniqueTable<AccountRecord, 'email' | 'subject'>({
    unique: {
      email: taken.email,
      subject: taken.subject,
    },
    dateFields: ['createdAt', 'updatedAt'],
  })
  // Compound unique keys as one derived field each, stripped on the way out.
  const memberships = new UniqueTable<MembershipRecord & { pair: string }, 'pair'>({
    unique: { pair: taken.membership },
    dateFields: ['createdAt', 'updatedAt'],
  })
  const invitations = new UniqueTable<InvitationRecord & { pair: string }, 'pair' | 'tokenHash'>({
    unique: {
      pair: taken.invitation,
      tokenHash: () => new Error('invitation token collision'),
    },
    dateFields: ['createdAt', 'expiresAt'],
  })
  const pair = (first: string, second: string) => `${first}\u0000${second}`
  const withoutPair = <TRecord>(row: (TRecord & { pair?: string }) | null): TRecord | null => {
    if (!row) return null
    const { pair: _pair, ...record } = row
    return record as TRecord
  }
  const domains = new Map<string, DomainRecord>()
  const sessions = new Map<string, SessionRecord>()
  const refreshTokens = new Map<string, RefreshTokenRecord>()
  // Bounded memory under any number of refreshes: of a session's used refresh tokens only the
  // latest few are kept (a replay of those still ends the session; an older one is just unknown,
  // as on MongoDB once its TTL index removed it), and expired sessions and tokens are swept.
  const usedBySession = new Map<string, string[]>()
  let writes = 0
  const sweep = () => {
    if (++writes % SWEEP_EVERY !== 0) return
    const now = Date.now()
    for (const session of sessions.values()) {
      if (session.expiresAt.getTime() > now) continue
      sessions.delete(session.id)
      usedBySession.delete(session.id)
    }
    for (const token of refreshTokens.values())
      if (token.expiresAt.getTime() <= now || !sessions.has(token.sessionId)) refreshTokens.delete(token.hash)
  }
  const auditEvents: AuditEvent[] = []

  return {
    organizations: {
      insert: async (org) => organizations.insert({ ...org, stateChangedAt: new Date() }),
      find: async (query) => organizations.find(query),
      update: async (id, patch, expected) => {
        if (expected && organizations.find({ id })?.ownerId !== expected.ownerId) return null
        return organizations.update(id, patch)
      },
      async transition(id, { from, to, staleForMs }) {
        const org = organizations.find({ id })
        const now = Date.now()
        if (!org || !from.includes(org.state)) return null
        if (staleForMs !== undefined && now - org.stateChangedAt.getTime() < staleForMs) return null
        return organizations.update(id, { state: to, stateChangedAt: new Date(now) })
      },
      delete: async (id) => organizations.delete(id),
      async *list(listOptions = {}) {
        yield* organizations.listAfter(listOptions.afterId)
      },
    },

    accounts: {
      insert: async (account) => accounts.insert({ ...account, createdAt: new Date() }),
      find: async (query) => accounts.find(query),
      update: async (id, patch, expected) => {
        if (expected && accounts.find({ id })?.passwordHash !== expected.passwordHash) return null
        return accounts.update(id, patch)
      },
      async delete(id, options = {}) {
        const account = accounts.find({ id })
        if (!account) return false
        if (options.staleForMs !== undefined && Date.now() - account.createdAt.getTime() < options.staleForMs)
          return false
        accounts.delete(id)
        return true
      },
    },

    memberships: {
      insert: async (record) => memberships.insert({ ...record, pair: pair(record.accountId, record.organizationId) }),
      find: async (query) =>
        withoutPair<MembershipRecord>(
          'id' in query
            ? memberships.find({ id: query.id })
            : memberships.find({ pair: pair(query.accountId, query.organizationId) }),
        ),
      async list(query) {
        const accounts = new Set(
          'organizationId' in query ? [] : 'accountIds' in query ? query.accountIds : [query.accountId],
        )
        const rows =
          'organizationId' in query
            ? memberships.filter((row) => row.organizationId === query.organizationId)
            : memberships.filter((row) => accounts.has(row.accountId))
        return rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map((row) => withoutPair<MembershipRecord>(row)!)
      },
      async update(id, patch, expected) {
        if (expected && memberships.find({ id })?.role !== expected.role) return null
        return withoutPair<MembershipRecord>(memberships.update(id, patch))
      },
      async delete(id, organizationId) {
        if (memberships.find({ id })?.organizationId !== organizationId) return false
        memberships.delete(id)
        return true
      },
      deleteByOrganization: async (organizationId) =>
        memberships.deleteWhere((row) => row.organizationId === organizationId),
      async *walk(walkOptions = {}) {
        for (const row of memberships.listAfter(walkOptions.afterId)) yield withoutPair<MembershipRecord>(row)!
      },
    },

    invitations: {
      insert: async (record) => invitations.insert({ ...record, pair: pair(record.organizationId, record.email) }),
      find: async (query) =>
        withoutPair<InvitationRecord>(
          'id' in query ? invitations.find({ id: query.id }) : invitations.find({ tokenHash: query.tokenHash }),
        ),
      async list(organizationId) {
        const rows = invitations.filter((row) => row.organizationId === organizationId)
        return rows
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
          .map((row) => withoutPair<InvitationRecord>(row)!)
      },
      async delete(id, organizationId) {
        if (invitations.find({ id })?.organizationId !== organizationId) return false
        invitations.delete(id)
        return true
      },
      deleteByOrganization: async (organizationId) =>
        invitations.deleteWhere((row) => row.organizationId === organizationId),
    },

    domains: {
      async insert(record) {
        if (domains.has(record.domain)) throw taken.domain()
        domains.set(record.domain, structuredClone(record))
      },
      async find(domain) {
        const record = domains.get(domain)
        return record ? structuredClone(record) : null
      },
      async list(organizationId) {
        const found = [...domains.values()].filter((record) => record.organizationId === organizationId)
        return structuredClone(found.sort((a, b) => (a.domain < b.domain ? -1 : 1)))
      },
      async delete(domain, organizationId) {
        if (domains.get(domain)?.organizationId !== organizationId) return false
        return domains.delete(domain)
      },
      async deleteByOrganization(organizationId) {
        for (const record of domains.values())
          if (record.organizationId === organizationId) domains.delete(record.domain)
      },
    },

    sessions: {
      async insert(session) {
        sweep()
        sessions.set(session.id, structuredClone(session))
      },
      async find(id) {
        const session = sessions.get(id)
        return session ? structuredClone(session) : null
      },
      async list({ accountId }) {
        const now = Date.now()
        return [...sessions.values()]
          .filter((session) => session.accountId === accountId && session.expiresAt.getTime() > now)
          .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1))
          .map((session) => structuredClone(session))
      },
      async delete(query) {
        const [field, value] = Object.entries(query)[0] as [keyof SessionRecord, string]
        for (const session of sessions.values()) {
          if (session[field] !== value) continue
          sessions.delete(session.id)
          usedBySession.delete(session.id)
        }
        for (const token of refreshTokens.values()) if (!sessions.has(token.sessionId)) refreshTokens.delete(token.hash)
      },
      async insertRefreshToken(token) {
        sweep()
        refreshTokens.set(token.hash, structuredClone(token))
      },
      async consumeRefreshToken(hash, usedAt) {
        const token = refreshTokens.get(hash)
        if (!token) return null
        const consumed = token.usedAt === null || (token.retryUntil != null && token.retryUntil > usedAt)
        if (consumed) {
          Object.assign(token, { usedAt, retryUntil: null })
          const used = usedBySession.get(token.sessionId) ?? []
          // A token released and consumed again (a suspension, a throttled refresh) counts once.
          if (!used.includes(hash)) used.push(hash)
          while (used.length > USED_TOKENS_KEPT) refreshTokens.delete(used.shift()!)
          usedBySession.set(token.sessionId, used)
        }
        return { token: structuredClone(token), consumed }
      },
      async releaseRefreshToken(hash, usedAt, retryUntil) {
        const token = refreshTokens.get(hash)
        if (token?.usedAt?.getTime() === usedAt.getTime()) token.retryUntil = retryUntil
      },
    },

    audit: {
      async insert(event) {
        auditEvents.push(structuredClone(event))
      },
      async list(organizationId, { limit, before, after }) {
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
      async deleteByOrganization(organizationId) {
        for (let i = auditEvents.length - 1; i >= 0; i--)
          if (auditEvents[i]!.organizationId === organizationId) auditEvents.splice(i, 1)
      },
    },
  }
}

/** Whether `event` comes after `position` in the audit order: newest first, then by id descending. */
function olderThan(event: Pick<AuditEvent, 'at' | 'id'>, position: Pick<AuditEvent, 'at' | 'id'>): boolean {
  const difference = event.at.getTime() - position.at.getTime()
  return difference < 0 || (difference === 0 && event.id < position.id)
}
