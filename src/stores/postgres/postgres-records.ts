import type { Pool, QueryResultRow } from 'pg'
import type { RecordStore } from '../../control/record-store.js'
import { rethrowTaken } from './postgres-errors.js'
import { checkRecords, migrateRecords } from './postgres-migrations.js'
import { inRecordTransaction, run } from './postgres-scope.js'
import { identifier, untilPassed } from './postgres-setup.js'
import { postgresSessionRecords } from './postgres-session-records.js'
import {
  type AuditEventRow,
  type DomainRow,
  type InvitationRow,
  type MembershipRow,
  type OrganizationRow,
  toAccount,
  toAuditEvent,
  toDomain,
  toInvitation,
  toMembership,
  toOrganization,
} from './postgres-rows.js'

/**
 * The record store on PostgreSQL, in its own schema. Unique constraints are the "taken" signal,
 * conditional writes are one `UPDATE ... WHERE` each (PostgreSQL re-checks the condition on the
 * row it locked, so of concurrent writers exactly one wins), and the clock of record (state
 * changes, staleness) is the server's `now()`.
 */
export function postgresRecords(pool: Pool, schema: string): Required<RecordStore> {
  // Once per process, on the connection the first operation holds: never DDL, never a second connection.
  const migrated = untilPassed(() => checkRecords(pool, schema))
  const query = async <TRow extends QueryResultRow>(text: string, values: unknown[] = []) => {
    await migrated()
    return run<TRow>(pool, text, values)
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
  /**
   * One conditional `UPDATE` of the columns given (undefined ones left as they are), only while
   * `expected` holds: `null` when the row is gone or no longer as expected.
   */
  const updateWhere = <TRow extends QueryResultRow, TRecord>(
    table: string,
    id: string,
    columns: Record<string, unknown>,
    expected: [condition: string, value: unknown] | undefined,
    map: (row: TRow) => TRecord,
  ) => {
    const values: unknown[] = [id]
    const sets = Object.entries(columns)
      .filter(([, value]) => value !== undefined)
      .map(([column, value]) => `${column} = $${values.push(value)}`)
    const where = expected ? `id = $1 and ${expected[0]} $${values.push(expected[1])}` : 'id = $1'
    if (sets.length === 0) return first(`select * from ${s}.${table} where ${where}`, values, map)
    return first(`update ${s}.${table} set ${sets.join(', ')} where ${where} returning *`, values, map).catch(
      rethrowTaken,
    )
  }

  return {
    // At deploy (tenancy.migrate()); a request before it is refused with MigrationRequiredError.
    async migrate() {
      await migrateRecords(pool, schema)
      await migrated()
    },
    transaction: async (fn) => {
      await migrated()
      return inRecordTransaction(pool, fn)
    },
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
      update: (id, patch, expected) =>
        updateWhere(
          'organizations',
          id,
          {
            name: patch.name,
            name_key: patch.nameKey,
            slug: patch.slug,
            owner_id: patch.ownerId,
            metadata: patch.metadata === undefined ? undefined : JSON.stringify(patch.metadata),
            updated_at: patch.updatedAt,
          },
          expected && ['owner_id =', expected.ownerId],
          toOrganization,
        ),
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
           values ($1, $2, $3, $4, $5, now(), $6)`,
          [
            account.id,
            account.email,
            account.passwordHash,
            account.subject ?? null,
            account.tokenVersion,
            account.updatedAt,
          ],
        ).catch(rethrowTaken)
      },
      find: (q) => {
        const [column, value] = 'id' in q ? ['id', q.id] : 'email' in q ? ['email', q.email] : ['subject', q.subject]
        return first(`select * from ${s}.accounts where ${column} = $1`, [value], toAccount)
      },
      update: (id, patch, expected) =>
        updateWhere(
          'accounts',
          id,
          {
            email: patch.email,
            password_hash: patch.passwordHash,
            token_version: patch.tokenVersion,
            updated_at: patch.updatedAt,
          },
          expected && ['password_hash is not distinct from', expected.passwordHash],
          toAccount,
        ),
      async delete(id, { staleForMs } = {}) {
        const { rowCount } = await query(
          `delete from ${s}.accounts where id = $1
             and ($2::double precision is null or created_at <= now() - make_interval(secs => $2::double precision / 1000))`,
          [id, staleForMs ?? null],
        )
        return rowCount === 1
      },
    },

    memberships: {
      async insert(m) {
        // Under a lock on the account, held to the end of a record transaction: an organization
        // create's uncommitted membership is then counted by any other insert for the account.
        await query(
          `insert into ${s}.memberships (id, account_id, organization_id, role, created_at, updated_at)
           select $1, $2, $3, $4, $5::timestamptz, $6::timestamptz from (select pg_advisory_xact_lock(hashtextextended('tenantry-account:' || $2, 0))) lock`,
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
        const [condition, value] =
          'organizationId' in q
            ? ['organization_id = $1', q.organizationId]
            : 'accountIds' in q
              ? ['account_id = any($1::text[])', q.accountIds]
              : ['account_id = $1', q.accountId]
        const { rows } = await query<MembershipRow>(`select * from ${s}.memberships where ${condition} order by id`, [
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

    sessions: postgresSessionRecords(query, s),

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
