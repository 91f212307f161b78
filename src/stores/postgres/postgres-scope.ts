import { AsyncLocalStorage } from 'node:async_hooks'
import { commitFate } from './postgres-commit-fate.js'
import { checkOut } from './postgres-connection.js'
import { ownerSwitch, queryAsOwner } from './postgres-owner-role.js'
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg'

/** A record transaction in progress: its connection, and the one step running on it at a time. */
interface Scope {
  pool: Pool
  client: PoolClient
  open: boolean
  turn: Promise<unknown>
}

const scopes = new AsyncLocalStorage<Scope>()

/** The record transaction this call runs inside, if it is on `pool` and still open. */
function scopeOf(pool: Pool): Scope | undefined {
  const scope = scopes.getStore()
  return scope?.pool === pool && scope.open ? scope : undefined
}

/**
 * Runs `fn` in one transaction on its own connection: every statement `run` or `step` makes on
 * `pool` in `fn`'s async context joins it, committed when `fn` resolves and rolled back when it
 * throws. A transaction already open on `pool` is joined rather than nested.
 */
export async function inRecordTransaction<TResult>(pool: Pool, fn: () => Promise<TResult>): Promise<TResult> {
  if (scopeOf(pool)) return fn()
  const client = await checkOut(pool)
  const scope: Scope = { pool, client, open: true, turn: Promise.resolve() }
  let released = false
  const release = (broken?: Error) => {
    if (!released) client.release(broken)
    released = true
  }
  try {
    // Its id and backend, taken at once: what tells later whether a COMMIT that lost its answer landed.
    // As the pool's owner role, if it names one, until the transaction ends.
    const opened = (await client.query(
      `begin; ${ownerSwitch(pool)}; select txid_current()::text as xid, pg_backend_pid() as pid`,
    )) as unknown as QueryResult<{ xid: string; pid: number }>[]
    const { xid, pid } = opened.at(-1)!.rows[0]!
    let result: TResult
    try {
      result = await scopes.run(scope, fn)
      await scope.turn.catch(() => {})
    } catch (err) {
      scope.open = false
      await scope.turn.catch(() => {})
      await client.query('rollback').catch((failed: Error) => release(failed))
      throw err
    }
    scope.open = false
    try {
      await client.query('commit')
    } catch (failed) {
      // The broken connection goes first: asking on a second one while holding it would need two
      // of the pool's connections at once (a pool of one would wait for itself).
      release(failed as Error)
      // The one answer that can be lost after the fact: asked of the server, once it has settled.
      const fate = await commitFate(pool, pid, xid)
      if (fate === 'committed') return result
      if (fate === 'aborted') (failed as { refused?: boolean }).refused = true
      throw failed
    }
    return result
  } finally {
    release()
  }
}

/**
 * Runs `fn` with a connection: inside a record transaction, that transaction's, behind a
 * savepoint (a failed step, such as a taken name the caller handles, leaves the transaction
 * usable) and one step at a time; otherwise `OUTSIDE`, for the caller to use a connection of its
 * own. `fn` uses the client it is given: a `run` inside it would wait for `fn` itself.
 */
export async function step<TResult>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<TResult>,
): Promise<TResult | typeof OUTSIDE> {
  const scope = scopeOf(pool)
  if (!scope) return OUTSIDE
  const turn = scope.turn
    .catch(() => {})
    .then(async () => {
      await scope.client.query('savepoint tenantry_step')
      try {
        const result = await fn(scope.client)
        await scope.client.query('release savepoint tenantry_step')
        return result
      } catch (err) {
        await scope.client.query('rollback to savepoint tenantry_step; release savepoint tenantry_step')
        throw err
      }
    })
  scope.turn = turn
  return turn
}

/** What `step` answers outside a record transaction. */
export const OUTSIDE: unique symbol = Symbol('outside a record transaction')

/** One statement: in the record transaction when one is open on `pool`, else on the pool. */
export async function run<TRow extends QueryResultRow>(
  pool: Pool,
  text: string,
  values: unknown[] = [],
): Promise<QueryResult<TRow>> {
  const inside = await step(pool, (client) => client.query<TRow>(text, values))
  return inside === OUTSIDE ? queryAsOwner<TRow>(pool, text, values) : inside
}
