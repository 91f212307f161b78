import type { Pool, QueryResultRow } from 'pg'
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
  AlreadyMemberError,
  DomainTakenError,
  EmailTakenError,
  InvitationPendingError,
  OrganizationNameTakenError,
  SlugTakenError,
  SubjectTakenError,
} from '../../errors.js'
import { identifier, migrateRecords } from './postgres-migrations.js'

/** A unique constraint's name → the error that says what was taken. */
const TAKEN: Record<string, () => Error> = {
  organizations_name_key_unique: () => new OrganizationNameTakenError('an organization with this name already exists'),
  organizations_slug_unique: () => new SlugTakenError('an organization with this slug already exists'),
  accounts_email_unique: () => new EmailTakenError('an account with this email already exists'),
  accounts_subject_unique: () => new SubjectTakenError('another account is linked to this subject'),
  memberships_account_organization_unique: () =>
    new AlreadyMemberError('this account is already a member of the organization'),
  invitations_organization_email_unique: () =>
    new InvitationPendingError('this email already has a pending invitation to the organization'),
  domains_pkey: () => new DomainTakenError('another organization already uses this domain'),
}

function rethrowTaken(err: unknown): never {
  const { code, constraint } = (err ?? {}) as { code?: string; constraint?: string }
  const taken = code === '23505' && constraint !== undefined ? TAKEN[constraint] : undefined
  throw taken ? taken() : err
}

/** Rows written between two sweeps of expired sessions and refresh tokens. */
const SWEEP_EVERY = 1000

/**
 * The record store on PostgreSQL, in its own schema. Unique constraints are the "taken" signal,
 * conditional writes are one `UPDATE ... WHERE` each (PostgreSQL re-checks the condition on the
 * row it locked, so of concurrent writers exactly one wins), and the clock of record (state
 * changes, staleness) is the server's `now()`.
 */
export function postgresRecords(pool: Pool, schema: string): Required<RecordStore> {
  let ready: Promise<void> | undefined
  const query = async <TRow extends QueryResultRow>(text: string, values: unknown[] = []) => {
    ready ??= migrateRecords(pool, schema).catch((err) => {
      ready = undefined
      throw err
    })
    await ready
    return pool.query<TRow>(text, values)
  }
  const s = identifier(schema)
  const first = async <TRow extends QueryResultRow, TRecord>(
    text: string,
    values: unknown[],
    map: (row: TRow) => TRecord,
  ) => {
    const { rows } = await query<TRow>(text, values)
    return rows[0] ? map(rows[0]) : null
  }
  let writes = 0
  const sweep = async () => {
    if (++writes % SWEEP_EVERY !== 0) return
    await query(`delete from ${s}.refresh_tokens where expires_at <= now()`)
    await query(`delete from ${s}.sessions where expires_at <= now()`)
  }

  return {
    organizations: {
      async insert(org) {
        await query(
          `insert into ${s}.organizations (id, name, name_key, slug, data_key, owner_id, state, state_changed_at, metadata, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7, now(), $8, $9, $10)`,
          [
            org.id,
            org.name,
            org.nameKey,
            org.slug ?? null,
            org.dataKey,
            org.ownerId,
            org.state,
            org.metadata === undefined ? null : JSON.stringify(org.metadata),
            org.createdAt,
            org.updatedAt,
          ],
        ).catch(rethrowTaken)
      },
      find: (q) => {
        const [column, value] = 'id' in q ? ['id', q.id] : 'nameKey' in q ? ['name_key', q.nameKey] : ['slug', q.slug]
        return first(`select * from ${s}.organizations where ${column} = $1`, [value], toOrganization)
      },
      async update(id, patch, expected) {
        const sets: string[] = []
        const values: unknown[] = [id]
        const set = (column: string, value: unknown) => {
          values.push(value)
          sets.push(`${column} = $${values.length}`)
        }
        if (patch.name !== undefined) set('name', patch.name)
        if (patch.nameKey !== undefined) set('name_key', patch.nameKey)
        if (patch.slug !== undefined) set('slug', patch.slug)
        if (patch.ownerId !== undefined) set('owner_id', patch.ownerId)
        if (patch.metadata !== undefined) set('metadata', JSON.stringify(patch.metadata))
        if (patch.updatedAt !== undefined) set('updated_at', patch.updatedAt)
        let where = 'id = $1'
        if (expected) {
          values.push(expected.ownerId)
          where += ` and owner_id = $${values.length}`
        }
        if (sets.length === 0) return first(`select * from ${s}.organizations where ${where}`, values, toOrganization)
        return first(
          `update ${s}.organizations set ${sets.join(', ')} where ${where} returning *`,
          values,
          toOrganization,
        ).catch(rethrowTaken)
      },
      transition: (id, { from, to, staleForMs }) =>
        first(
          `update ${s}.organizations set state = $3, state_changed_at = now()
           where id = $1 and state = any($2::text[])
             and ($4::double precision is null or state_changed_at <= now() - make_interval(secs => $4::double precision / 1000))
           returning *`,
          [id, [...from], to, staleForMs ?? null],
          toOrganization,
        ),
      async delete(id) {
        await query(`delete from ${s}.organizations where id = $1`, [id])
      },
      list: (options = {}) => pages(query<OrganizationRow>, `${s}.organizations`, options.afterId, toOrganization),
    },

    accounts: {
      async insert(account) {
        await query(
          `insert into ${s}.accounts (id, email, password_hash, subject, token_version, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            account.id,
            account.email,
            account.passwordHash,
            account.subject ?? null,
            account.tokenVersion,
            account.createdAt,
            account.updatedAt,
          ],
        ).catch(rethrowTaken)
      },
      find: (q) => {
        const [column, value] = 'id' in q ? ['id', q.id] : 'email' in q ? ['email', q.email] : ['subject', q.subject]
        return first(`select * from ${s}.accounts where ${column} = $1`, [value], toAccount)
      },
      async update(id, patch, expected) {
        const sets: string[] = []
        const values: unknown[] = [id]
        const set = (column: string, value: unknown) => {
          values.push(value)
          sets.push(`${column} = $${values.length}`)
        }
        if (patch.email !== undefined) set('email', patch.email)
        if (patch.passwordHash !== undefined) set('password_hash', patch.passwordHash)
        if (patch.tokenVersion !== undefined) set('token_version', patch.tokenVersion)
        if (patch.updatedAt !== undefined) set('updated_at', patch.updatedAt)
        let where = 'id = $1'
        if (expected) {
          values.push(expected.passwordHash)
          where += ` and password_hash is not distinct from $${values.length}`
        }
        if (sets.length === 0) return first(`select * from ${s}.accounts where ${where}`, values, toAccount)
        return first(`update ${s}.accounts set ${sets.join(', ')} where ${where} returning *`, values, toAccount).catch(
          rethrowTaken,
        )
      },
      async delete(id) {
        await query(`delete from ${s}.accounts where id = $1`, [id])
      },
    },

    memberships: {
      async insert(m) {
        await query(
          `insert into ${s}.memberships (id, account_id, organization_id, role, created_at, updated_at) values ($1, $2, $3, $4, $5, $6)`,
          [m.id, m.accountId, m.organizationId, m.role, m.createdAt, m.updatedAt],
        ).catch(rethrowTaken)
      },
      find: (q) =>
        'id' in q
          ? first(`select * from ${s}.memberships where id = $1`, [q.id], toMembership)
          : first(
              `select * from ${s}.memberships where account_id = $1 and organization_id = $2`,
              [q.accountId, q.organizationId],
              toMembership,
            ),
      async list(q) {
        const [column, value] =
          'organizationId' in q ? ['organization_id', q.organizationId] : ['account_id', q.accountId]
        const { rows } = await query<MembershipRow>(`select * from ${s}.memberships where ${column} = $1 order by id`, [
          value,
        ])
        return rows.map(toMembership)
      },
      update: (id, patch, expected) =>
        first(
          `update ${s}.memberships set role = coalesce($2, role), updated_at = coalesce($3, updated_at)
           where id = $1 and ($4::text is null or role = $4) returning *`,
          [id, patch.role ?? null, patch.updatedAt ?? null, expected?.role ?? null],
          toMembership,
        ),
      async delete(id, organizationId) {
        const { rowCount } = await query(`delete from ${s}.memberships where id = $1 and organization_id = $2`, [
          id,
          organizationId,
        ])
        return rowCount === 1
      },
      async deleteByOrganization(organizationId) {
        await query(`delete from ${s}.memberships where organization_id = $1`, [organizationId])
      },
      walk: (options = {}) => pages(query<MembershipRow>, `${s}.memberships`, options.afterId, toMembership),
    },

    invitations: {
      async insert(i) {
        await query(
          `insert into ${s}.invitations (id, organization_id, email, role, token_hash, invited_by, created_at, expires_at)
           values ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [i.id, i.organizationId, i.email, i.role, i.tokenHash, i.invitedBy, i.createdAt, i.expiresAt],
        ).catch(rethrowTaken)
      },
      find: (q) =>
        'id' in q
          ? first(`select * from ${s}.invitations where id = $1`, [q.id], toInvitation)
          : first(`select * from ${s}.invitations where token_hash = $1`, [q.tokenHash], toInvitation),
      async list(organizationId) {
        const { rows } = await query<InvitationRow>(
          `select * from ${s}.invitations where organization_id = $1 order by created_at, id`,
          [organizationId],
        )
        return rows.map(toInvitation)
      },
      async delete(id, organizationId) {
        const { rowCount } = await query(`delete from ${s}.invitations where id = $1 and organization_id = $2`, [
          id,
          organizationId,
        ])
        return rowCount === 1
      },
      async deleteByOrganization(organizationId) {
        await query(`delete from ${s}.invitations where organization_id = $1`, [organizationId])
      },
    },

    sessions: {
      async insert(session) {
        await sweep()
        await query(
          `insert into ${s}.sessions (id, account_id, organization_id, membership_id, token_version, created_at, expires_at)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            session.id,
            session.accountId,
            session.organizationId,
            session.membershipId,
            session.tokenVersion,
            session.createdAt,
            session.expiresAt,
          ],
        )
      },
      find: (id) => first(`select * from ${s}.sessions where id = $1`, [id], toSession),
      async delete(q) {
        const [field, value] = Object.entries(q)[0] as [string, string]
        const column = {
          id: 'id',
          accountId: 'account_id',
          organizationId: 'organization_id',
          membershipId: 'membership_id',
        }[field]
        if (!column) throw new TypeError(`tenantry: sessions cannot be deleted by ${field}`)
        // One statement: the sessions and their refresh tokens go together.
        await query(
          `with ended as (delete from ${s}.sessions where ${column} = $1 returning id)
           delete from ${s}.refresh_tokens where session_id in (select id from ended)`,
          [value],
        )
      },
      async insertRefreshToken(token) {
        await sweep()
        await query(
          `insert into ${s}.refresh_tokens (hash, session_id, created_at, expires_at, used_at, retry_until)
           values ($1, $2, $3, $4, $5, $6)`,
          [token.hash, token.sessionId, token.createdAt, token.expiresAt, token.usedAt, token.retryUntil ?? null],
        )
      },
      async consumeRefreshToken(hash, usedAt) {
        // Re-checked on the locked row: of concurrent consumers exactly one matches.
        const consumed = await first(
          `update ${s}.refresh_tokens set used_at = $2, retry_until = null
           where hash = $1 and (used_at is null or retry_until > $2) returning *`,
          [hash, usedAt],
          toRefreshToken,
        )
        if (consumed) return { token: consumed, consumed: true }
        const token = await first(`select * from ${s}.refresh_tokens where hash = $1`, [hash], toRefreshToken)
        return token && { token, consumed: false }
      },
      async releaseRefreshToken(hash, usedAt, retryUntil) {
        await query(`update ${s}.refresh_tokens set retry_until = $3 where hash = $1 and used_at = $2`, [
          hash,
          usedAt,
          retryUntil,
        ])
      },
    },

    domains: {
      async insert(record) {
        await query(`insert into ${s}.domains (domain, organization_id, created_at) values ($1, $2, $3)`, [
          record.domain,
          record.organizationId,
          record.createdAt,
        ]).catch(rethrowTaken)
      },
      find: (domain) => first(`select * from ${s}.domains where domain = $1`, [domain], toDomain),
      async list(organizationId) {
        const { rows } = await query<DomainRow>(
          `select * from ${s}.domains where organization_id = $1 order by domain`,
          [organizationId],
        )
        return rows.map(toDomain)
      },
      async delete(domain, organizationId) {
        const { rowCount } = await query(`delete from ${s}.domains where domain = $1 and organization_id = $2`, [
          domain,
          organizationId,
        ])
        return rowCount === 1
      },
      async deleteByOrganization(organizationId) {
        await query(`delete from ${s}.domains where organization_id = $1`, [organizationId])
      },
    },

    audit: {
      async insert(event) {
        await query(
          `insert into ${s}.audit_events (id, type, organization_id, account_id, client_address, at, details)
           values ($1, $2, $3, $4, $5, $6, $7)`,
          [
            event.id,
            event.type,
            event.organizationId,
            event.accountId,
            event.clientAddress,
            event.at,
            JSON.stringify(event.details),
          ],
        )
      },
      async list(organizationId, { limit, before, after }) {
        const { rows } = await query<AuditEventRow>(
          `select * from ${s}.audit_events
           where organization_id = $1
             and ($2::timestamptz is null or at < $2)
             and ($3::timestamptz is null or (at, id) < ($3, $4::text))
           order by at desc, id desc
           limit $5`,
          [organizationId, before ?? null, after?.at ?? null, after?.id ?? null, limit],
        )
        return rows.map(toAuditEvent)
      },
      async deleteByOrganization(organizationId) {
        await query(`delete from ${s}.audit_events where organization_id = $1`, [organizationId])
      },
    },
  }
}

/** Every row of `table` in id order after `afterId`, read 500 at a time. */
async function* pages<TRow extends { id: string }, TRecord>(
  query: (text: string, values: unknown[]) => Promise<{ rows: TRow[] }>,
  table: string,
  afterId: string | undefined,
  map: (row: TRow) => TRecord,
): AsyncIterable<TRecord> {
  let after = afterId ?? null
  for (;;) {
    const { rows } = await query(`select * from ${table} where ($1::text is null or id > $1) order by id limit 500`, [
      after,
    ])
    for (const row of rows) yield map(row)
    if (rows.length < 500) return
    after = rows.at(-1)!.id
  }
}

/** The tables' rows as `pg` returns them: timestamps as `Date`, jsonb parsed. */
interface OrganizationRow {
  id: string
  name: string
  name_key: string
  slug: string | null
  data_key: string
  owner_id: string
  state: OrganizationRecord['state']
  state_changed_at: Date
  metadata: Record<string, unknown> | null
  created_at: Date
  updated_at: Date
}
interface AccountRow {
  id: string
  email: string | null
  password_hash: string | null
  subject: string | null
  token_version: number
  created_at: Date
  updated_at: Date
}
interface MembershipRow {
  id: string
  account_id: string
  organization_id: string
  role: string
  created_at: Date
  updated_at: Date
}
interface InvitationRow {
  id: string
  organization_id: string
  email: string
  role: string
  token_hash: string
  invited_by: string
  created_at: Date
  expires_at: Date
}
interface SessionRow {
  id: string
  account_id: string
  organization_id: string
  membership_id: string
  token_version: number
  created_at: Date
  expires_at: Date
}
interface RefreshTokenRow {
  hash: string
  session_id: string
  created_at: Date
  expires_at: Date
  used_at: Date | null
  retry_until: Date | null
}
interface DomainRow {
  domain: string
  organization_id: string
  created_at: Date
}
interface AuditEventRow {
  id: string
  type: AuditEvent['type']
  organization_id: string | null
  account_id: string | null
  client_address: string | null
  at: Date
  details: AuditEvent['details']
}

function toOrganization(row: OrganizationRow): OrganizationRecord {
  // A record from before slugs existed has none until tenancy.migrate() gives it one.
  return <OrganizationRecord>{
    id: row.id,
    name: row.name,
    nameKey: row.name_key,
    ...(row.slug === null ? {} : { slug: row.slug }),
    dataKey: row.data_key,
    ownerId: row.owner_id,
    state: row.state,
    stateChangedAt: row.state_changed_at,
    ...(row.metadata === null ? {} : { metadata: row.metadata }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    ...(row.subject === null ? {} : { subject: row.subject }),
    tokenVersion: row.token_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toMembership(row: MembershipRow): MembershipRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    organizationId: row.organization_id,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

function toInvitation(row: InvitationRow): InvitationRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    role: row.role,
    tokenHash: row.token_hash,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    organizationId: row.organization_id,
    membershipId: row.membership_id,
    tokenVersion: row.token_version,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

function toRefreshToken(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    hash: row.hash,
    sessionId: row.session_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    ...(row.retry_until === null ? {} : { retryUntil: row.retry_until }),
  }
}

function toDomain(row: DomainRow): DomainRecord {
  return { domain: row.domain, organizationId: row.organization_id, createdAt: row.created_at }
}

function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    organizationId: row.organization_id,
    accountId: row.account_id,
    clientAddress: row.client_address,
    at: row.at,
    details: row.details,
  }
}
