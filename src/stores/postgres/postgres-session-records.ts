import type { QueryResult, QueryResultRow } from 'pg'
import type { SessionRecords } from '../../control/record-store.js'
import { type SessionRow, toRefreshToken, toSession } from './postgres-rows.js'

/** Rows written between two sweeps of expired sessions and refresh tokens. */
const SWEEP_EVERY = 1000

type Query = <TRow extends QueryResultRow>(text: string, values?: unknown[]) => Promise<QueryResult<TRow>>

/** Sessions and their refresh tokens, in the schema `s` (quoted); expired rows swept every 1,000 writes. */
export function postgresSessionRecords(query: Query, s: string): SessionRecords {
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
    async list({ accountId }) {
      const { rows } = await query<SessionRow>(
        `select * from ${s}.sessions where account_id = $1 and expires_at > now() order by created_at, id`,
        [accountId],
      )
      return rows.map(toSession)
    },
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
  }
}
