import type { Pool, PoolClient } from 'pg'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { UnknownCollectionError } from '../../errors.js'
import { checkOut } from './postgres-connection.js'
import { ownerSwitch } from './postgres-owner-role.js'
import { OUTSIDE, outside, step } from './postgres-scope.js'

/** Quotes an identifier for SQL (a schema name the host chose). */
export function identifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * Runs `fn` in a transaction on a connection of its own, holding the transaction-scoped
 * advisory lock `lock`: instances starting (or provisioning one tenant) together take turns, and
 * what `fn` did commits whole or not at all.
 */
export async function lockedTransaction<TResult>(
  pool: Pool,
  lock: string,
  fn: (client: PoolClient) => Promise<TResult>,
): Promise<TResult> {
  // Inside a record transaction (an organization create), the work joins it.
  const inside = await step(pool, async (client) => {
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lock])
    return fn(client)
  })
  if (inside !== OUTSIDE) return inside
  const client = await checkOut(pool)
  try {
    await client.query(`begin; ${ownerSwitch(pool)}`)
    await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [lock])
    const result = await fn(client)
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  } finally {
    client.release()
  }
}

/** `setUp` run once, on first need; a failed run is tried again by the next caller. */
export function once(setUp: () => Promise<void>): () => Promise<void> {
  let ready: Promise<void> | undefined
  return () => {
    // Outside any record transaction: set-up must commit on its own, not with (or not with) a create.
    ready ??= outside(setUp).catch((err) => {
      ready = undefined
      throw err
    })
    return ready
  }
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
