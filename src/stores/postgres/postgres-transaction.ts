import { AsyncLocalStorage } from 'node:async_hooks'
import type { Pool, PoolClient } from 'pg'
import type { SqlClient, SqlResult } from '../../data/sql-client.js'
import { InvalidQueryError } from '../../errors.js'
import { type BatchResult, batchesOn, forgetPreparedStatements, sendBatch, type WireClient } from './postgres-batch.js'
import { checkOut } from './postgres-connection.js'
import { lend } from './postgres-lent-client.js'
import { escapeLiteral } from './postgres-literals.js'
import { statementError } from './postgres-statement-errors.js'

/** The setting the row-level security policies read. */
export const TENANT_SETTING = 'tenantry.tenant_id'

/** Who a tenant's transaction runs as: its role, and its `search_path` or tenant setting. */
export interface TenantLocals {
  role: string
  /** Schemas, first the tenant's own. */
  searchPath?: readonly string[]
  settings?: Record<string, string>
}

/** A tenant transaction whose callback is running: a nested call for the same tenant joins it. */
interface Lending {
  pool: Pool
  tenant: string
  /** The transaction's connection, usable only while `open`. */
  client: SqlClient
  open: boolean
}

const lendings = new AsyncLocalStorage<Lending>()

/** Who a transaction runs as, without its timeouts: what a nested call must match to join it. */
const tenantOf = (locals: TenantLocals) =>
  JSON.stringify([locals.role, locals.searchPath ?? null, locals.settings?.[TENANT_SETTING] ?? null])

function joinable(pool: Pool, locals: TenantLocals): Lending | undefined {
  const lending = lendings.getStore()
  return lending?.open && lending.pool === pool && lending.tenant === tenantOf(locals) ? lending : undefined
}

/**
 * Runs `fn` in a transaction on its own connection, as `role`, with `settings` (the tenant's
 * setting, or its `search_path`) local to the transaction: one round trip to begin, `fn`'s
 * statements, one to commit and reset the session (`DISCARD ALL`), so nothing `fn` left on the
 * connection (temporary tables, prepared statements, cursors, locks, `LISTEN`, settings) reaches
 * the next caller; a connection that could not be reset is destroyed. `fn`'s client stops
 * working when `fn` settles. Called for the same tenant inside `fn`, it runs in a savepoint of
 * the transaction already open, on its connection. Engine errors escape typed.
 */
export async function runTenantTransaction<TResult>(
  pool: Pool,
  locals: TenantLocals,
  fn: (client: SqlClient) => Promise<TResult>,
): Promise<TResult> {
  try {
    const lending = joinable(pool, locals)
    if (lending) return await inSavepoint(lending.client, fn)
    const client = await checkOut(pool)
    const session = { reusable: false }
    try {
      const batching = await batchesOn(pool, client as unknown as WireClient)
      return await inTransaction(pool, client, locals, fn, session, batching)
    } finally {
      client.release(!session.reusable)
    }
  } catch (err) {
    throw statementError(err)
  }
}

/**
 * One statement in a tenant transaction, in one round trip: `BEGIN`, the settings, the
 * statement, `COMMIT` and `DISCARD ALL` go out as one batch under a single Sync, so a failed
 * begin or setting means the statement never runs. Inside a transaction of the same tenant it
 * runs there. A client that cannot batch (pg-native, `pipeline: false`) takes four round trips.
 */
export async function runTenantStatement<TRow>(
  pool: Pool,
  locals: TenantLocals,
  text: string,
  values: unknown[] | undefined,
): Promise<SqlResult<TRow>> {
  try {
    if (typeof text !== 'string') throw new TypeError('tenantry: tenant.query needs SQL text')
    if (text.trim() === '') throw noStatement()
    const lending = joinable(pool, locals)
    if (lending) return statementResult(await lending.client.query(extended(text, values ?? []) as never))
    return await ownStatement<TRow>(pool, locals, text, values ?? [])
  } catch (err) {
    throw statementError(err)
  }
}

async function ownStatement<TRow>(
  pool: Pool,
  locals: TenantLocals,
  text: string,
  values: unknown[],
): Promise<SqlResult<TRow>> {
  const client = await checkOut(pool)
  const wire = client as unknown as WireClient
  const session = { reusable: false }
  try {
    if (!(await batchesOn(pool, wire))) {
      const inside = (lent: SqlClient) => lent.query(extended(text, values) as never)
      return statementResult(await inTransaction(pool, client, locals, inside, session, false))
    }
    let results: BatchResult[]
    try {
      results = await sendBatch(wire, [
        { text: 'begin', values: [] },
        { text: settings(locals), values: [] },
        { text, values },
        { text: 'commit', values: [] },
        { text: 'discard all', values: [] },
      ])
    } catch (err) {
      // The server skipped what followed the failure, DISCARD ALL included.
      session.reusable = await end(wire, 'rollback', true).then(
        (ended) => ended.reusable,
        () => false,
      )
      throw err
    }
    session.reusable = forgetPreparedStatements(wire)
    return results[2] as unknown as SqlResult<TRow>
  } finally {
    client.release(!session.reusable)
  }
}

async function inTransaction<TResult>(
  pool: Pool,
  client: PoolClient,
  locals: TenantLocals,
  fn: (client: SqlClient) => Promise<TResult>,
  session: { reusable: boolean },
  batching: boolean,
): Promise<TResult> {
  const wire = client as unknown as WireClient
  await client.query(`begin; ${settings(locals)}`)
  const lending: Lending = { pool, tenant: tenantOf(locals), client: lend(wire, () => lending.open), open: true }
  let result: TResult
  try {
    result = await lendings.run(lending, () => fn(lending.client))
  } catch (err) {
    lending.open = false
    session.reusable = await end(wire, 'rollback', batching).then(
      (ended) => ended.reusable,
      () => false,
    )
    throw err
  }
  lending.open = false
  const ended = await end(wire, 'commit', batching)
  session.reusable = ended.reusable
  // A statement that failed inside fn, its error swallowed, turns COMMIT into ROLLBACK.
  if (ended.command !== 'COMMIT') throw new Error('tenantry: the transaction was rolled back: a statement in it failed')
  return result
}

/**
 * Ends the transaction and resets the session to what a new connection has. `DISCARD ALL` may
 * not run inside a transaction block, but after `COMMIT` or `ROLLBACK` in the same batch it
 * starts one of its own, so both go under one Sync; plain queries take one round trip each.
 */
async function end(
  client: WireClient,
  statement: 'commit' | 'rollback',
  batching: boolean,
): Promise<{ command: string | null; reusable: boolean }> {
  const query = (text: string) => client.query(text) as Promise<BatchResult>
  const [ended] = batching
    ? await sendBatch(client, [
        { text: statement, values: [] },
        { text: 'discard all', values: [] },
      ])
    : [await query(statement), await query('discard all')]
  return { command: ended!.command, reusable: forgetPreparedStatements(client) }
}

/**
 * A transaction inside one of the same tenant: a savepoint on its connection, released when
 * `fn` resolves and rolled back to when it throws, so a failure the host catches leaves the
 * outer transaction usable. Its client ends with `fn`, or with the outer transaction.
 */
async function inSavepoint<TResult>(outer: SqlClient, fn: (client: SqlClient) => Promise<TResult>): Promise<TResult> {
  await outer.query('savepoint tenantry_nested')
  let open = true
  try {
    const result = await fn(lend(outer, () => open))
    open = false
    await outer.query('release savepoint tenantry_nested')
    return result
  } catch (err) {
    open = false
    await outer.query('rollback to savepoint tenantry_nested; release savepoint tenantry_nested').catch(() => {})
    throw err
  }
}

/** The transaction-local settings: the role, then `search_path` or the tenant setting. */
const assignments = (locals: TenantLocals): [string, string][] => [
  ['role', locals.role],
  ...(locals.searchPath === undefined
    ? []
    : [
        ['search_path', locals.searchPath.map((schema) => `"${schema.replaceAll('"', '""')}"`).join(', ')] as [
          string,
          string,
        ],
      ]),
  ...Object.entries(locals.settings ?? {}),
]

/** The settings as one `select` of literals (PostgreSQL plans it faster than one with parameters). */
const settings = (locals: TenantLocals): string =>
  `select ${assignments(locals)
    .map(([name, value]) => `set_config(${escapeLiteral(name)}, ${escapeLiteral(value)}, true)`)
    .join(', ')}`

/** One statement by pg's extended protocol, as the batch sends it: never several at once. */
const extended = (text: string, values: unknown[]) => ({ text, values, queryMode: 'extended' })

const noStatement = () => new InvalidQueryError('tenant.query needs one SQL statement: the text holds none')

/** A statement's result; an empty statement (only a comment) has no command and is refused. */
function statementResult<TRow>(result: unknown): SqlResult<TRow> {
  if ((result as BatchResult).command == null) throw noStatement()
  return result as SqlResult<TRow>
}
