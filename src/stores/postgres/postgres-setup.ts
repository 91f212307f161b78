import type { Pool, PoolClient } from 'pg'
import type { TenantDataProvider } from '../../data/tenant-data-provider.js'
import { UnknownCollectionError } from '../../errors.js'
import { checkOut } from './postgres-connection.js'
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
    await client.query('begin')
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

/**
 * Makes sure the role `name` exists and the pool's role may become it (`SET ROLE`), and refuses
 * one that is a superuser or has BYPASSRLS: the engine's checks would not apply to it.
 */
export async function ensureRole(client: PoolClient, name: string): Promise<void> {
  const { rows } = await client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
    'select rolsuper, rolbypassrls from pg_roles where rolname = $1',
    [name],
  )
  if (rows.length === 0) await client.query(`create role ${identifier(name)} nologin`)
  else if (rows[0]!.rolsuper || rows[0]!.rolbypassrls)
    throw new Error(
      `tenantry: the tenant role ${name} is a superuser or has BYPASSRLS, so the database's checks would not apply to it`,
    )
  const { rows: member } = await client.query<{ member: boolean }>(
    "select pg_has_role(current_user, $1, 'member') as member",
    [name],
  )
  if (!member[0]!.member) await client.query(`grant ${identifier(name)} to current_user`)
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
