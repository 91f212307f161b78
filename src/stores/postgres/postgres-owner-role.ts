import type { Pool, QueryResult, QueryResultRow } from 'pg'
import { batchesOn, sendBatch, type WireClient } from './postgres-batch.js'
import { checkOut } from './postgres-connection.js'

/**
 * The role each pool's tenantry statements switch to: the one that owns tenantry's records and
 * the host's tenant tables, while the pool's login role owns nothing (PostgREST's authenticator
 * pattern), so a `RESET ROLE` in host code reaches nothing. A property of the pool, as the
 * login role is: every store over one pool names the same owner, or none.
 */
const owners = new WeakMap<Pool, string | undefined>()

/** Records `pool`'s owner role; a pool another store gave a different one is a host mistake. */
export function registerOwnerRole(pool: Pool, owner: string | undefined): void {
  if (owners.has(pool) && owners.get(pool) !== owner)
    throw new TypeError(
      `tenantry: this pool serves another store with ownerRole ${owners.get(pool) ?? '(none)'}: every store over one pool names the same ownerRole`,
    )
  owners.set(pool, owner)
}

/**
 * The statement that switches a transaction to `pool`'s owner role until it ends (`''` when the
 * pool's own role owns everything). The name passed the option check: lower-case letters,
 * digits and `_`, so it needs no escaping.
 */
export function ownerSwitch(pool: Pool): string {
  const owner = owners.get(pool)
  return owner === undefined ? '' : `select set_config('role', '${owner}', true)`
}

/**
 * One statement as `pool`'s owner: the switch and the statement under one Sync, so both run in
 * the extended protocol's implicit transaction and the role ends with it; a client that cannot
 * batch (pg-native) wraps them in BEGIN/COMMIT.
 */
export async function queryAsOwner<TRow extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[],
): Promise<QueryResult<TRow>> {
  const owner = ownerSwitch(pool)
  if (owner === '') return pool.query<TRow>(text, values)
  const client = await checkOut(pool)
  let broken: Error | undefined
  try {
    const wire = client as unknown as WireClient
    if (await batchesOn(pool, wire)) {
      const results = await sendBatch(wire, [
        { text: owner, values: [] },
        { text, values },
      ])
      return results[1] as unknown as QueryResult<TRow>
    }
    await client.query(`begin; ${owner}`)
    try {
      const result = await client.query<TRow>(text, values)
      await client.query('commit')
      return result
    } catch (err) {
      await client.query('rollback').catch((failed: Error) => (broken = failed))
      throw err
    }
  } finally {
    client.release(broken)
  }
}
