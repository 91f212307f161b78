import type { Pool, PoolClient } from 'pg'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { DatabaseUnavailableError, UnknownCollectionError } from '../../errors.js'
import { checkOut } from './postgres-connection.js'
import { ownerSwitch } from './postgres-owner-role.js'
import { OUTSIDE, step } from './postgres-scope.js'

/** Quotes an identifier for SQL (a schema name the host chose). */
export function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * How long a set-up statement waits for a table lock. DDL on a table a long read holds would
 * otherwise queue behind it, and every tenant query on that table would then queue behind the DDL.
 */
const SET_UP_LOCK_TIMEOUT = '5s'

/**
 * Runs `fn` in a transaction on a connection of its own, holding the transaction-scoped
 * advisory lock `lock`: instances starting (or provisioning one tenant) together take turns, and
 * what `fn` did commits whole or not at all. Inside a record transaction (an organization
 * create), the work joins it, on its connection. `fn`'s statements wait at most
 * `SET_UP_LOCK_TIMEOUT` for a lock, then fail with a `DatabaseUnavailableError`.
 */
export async function lockedTransaction<TResult>(
  pool: Pool,
  lock: string,
  fn: (client: PoolClient) => Promise<TResult>,
): Promise<TResult> {
  const inside = await step(pool, (client) => underLock(client, lock, fn))
  if (inside !== OUTSIDE) return inside
  const client = await checkOut(pool)
  try {
    await client.query(`begin; ${ownerSwitch(pool)}`)
    const result = await underLock(client, lock, fn)
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

async function underLock<TResult>(
  client: PoolClient,
  lock: string,
  fn: (client: PoolClient) => Promise<TResult>,
): Promise<TResult> {
  // The turn first, with no timeout: another instance migrating is worth waiting for.
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lock])
  const { rows } = await client.query<{ previous: string }>(
    "select current_setting('lock_timeout') as previous, set_config('lock_timeout', $1, true)",
    [SET_UP_LOCK_TIMEOUT],
  )
  let result: TResult
  try {
    result = await fn(client)
  } catch (err) {
    if ((err as { code?: string }).code !== '55P03') throw err
    throw new DatabaseUnavailableError(
      `tenantry: set-up waited over ${SET_UP_LOCK_TIMEOUT} for a lock a long-running transaction holds, and gave up rather than hold every query on that table behind it: run it again once that transaction has ended`,
      { cause: err },
    )
  }
  // Inside a create's transaction, the rest of it keeps the host's own lock_timeout.
  await client.query("select set_config('lock_timeout', $1, true)", [rows[0]!.previous])
  return result
}

/**
 * `check` until it first succeeds; after that, never again in this process. Callers arriving
 * while one runs wait for it; if it fails (it ran on another operation's connection, perhaps in
 * a transaction that failed), each runs its own rather than take on another's error.
 */
export function untilPassed(check: () => Promise<void>): () => Promise<void> {
  let passed = false
  let running: Promise<void> | undefined
  return async () => {
    if (passed) return
    if (
      running &&
      (await running.then(
        () => true,
        () => false,
      ))
    )
      return
    const mine = check().then(() => {
      passed = true
    })
    running ??= mine
    try {
      await mine
    } finally {
      if (running === mine) running = undefined
    }
  }
}

/** Runs `ddl` only when the relation `name` (`"schema".table`) is missing: no lock when it is there. */
export async function ensureRelation(client: PoolClient, name: string, ddl: string): Promise<void> {
  const { rows } = await client.query<{ found: boolean }>('select to_regclass($1) is not null as found', [name])
  if (!rows[0]!.found) await client.query(ddl)
}

/**
 * Creates the schema `name` when it is missing. Callers hold an advisory lock first: two
 * concurrent `create schema if not exists` can both miss it, and one then fails.
 */
export async function ensureSchema(client: PoolClient, name: string): Promise<void> {
  const { rows } = await client.query('select 1 from pg_namespace where nspname = $1', [name])
  if (rows.length === 0) await client.query(`create schema ${identifier(name)}`)
}

/** A SQL data provider declares no collections: tenants reach their rows with SQL. */
export const TABLES_NOT_COLLECTIONS: Pick<TenantDataProvider, 'collectionNames' | 'collection'> = {
  collectionNames: [],
  collection(_org, name) {
    throw new UnknownCollectionError(
      `no collection ${JSON.stringify(name)}: the PostgreSQL store keeps tables; use tenant.transaction or tenant.query`,
    )
  },
}
