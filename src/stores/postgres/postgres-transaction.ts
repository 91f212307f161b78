import { checkOut } from './postgres-connection.js'
import type { Pool, PoolClient, QueryResult } from 'pg'
import { canBatch, sendBatch } from './postgres-batch.js'
import type { SqlClient, SqlResult } from '../../data/sql-client.js'

/** The setting the row-level security policies read. */
export const TENANT_SETTING = 'tenantry.tenant_id'

/** Who a tenant's transaction runs as: its role, and its `search_path` or tenant setting. */
export interface TenantLocals {
  role: string
  /** Schemas, first the tenant's own. */
  searchPath?: readonly string[]
  settings?: Record<string, string>
}

/**
 * Runs `fn` in a transaction on its own connection, as `role`, with `settings` (the tenant's
 * setting, or its `search_path`) local to the transaction: one round trip to begin, `fn`'s
 * statements, one to commit. Local settings end with the transaction; a connection whose session
 * `fn` changed anyway (a session-level `SET ROLE`, `search_path` or tenant setting) is destroyed
 * rather than handed to the next caller, whose queries would run as someone else.
 */
export async function runTenantTransaction<TResult>(
  pool: Pool,
  locals: TenantLocals,
  fn: (client: SqlClient) => Promise<TResult>,
): Promise<TResult> {
  const client = await checkOut(pool)
  const session = { clean: false }
  try {
    return await inTransaction(client, locals, fn, session)
  } finally {
    client.release(!session.clean)
  }
}

async function inTransaction<TResult>(
  client: PoolClient,
  locals: TenantLocals,
  fn: (client: SqlClient) => Promise<TResult>,
  session: { clean: boolean },
): Promise<TResult> {
  await rememberSession(client)
  await client.query(opening(client, locals))
  let result: TResult
  try {
    result = await fn(client as unknown as SqlClient)
  } catch (err) {
    session.clean = await client.query(closing(client, 'rollback')).then(isClean, () => false)
    throw err
  }
  const ended = await client.query(closing(client, 'commit'))
  session.clean = isClean(ended)
  // A statement that failed inside fn, its error swallowed, turns COMMIT into ROLLBACK.
  if (!committed(ended)) throw new Error('tenantry: the transaction was rolled back: a statement in it failed')
  return result
}

/**
 * One statement in a tenant transaction, in one round trip: begin, the settings, the statement,
 * commit and the session check go out as one batch under a single Sync, so a failed begin or
 * setting means the statement never runs. A client that cannot batch (pg-native) takes three.
 */
export async function runTenantStatement<TRow>(
  pool: Pool,
  locals: TenantLocals,
  text: string,
  values: unknown[] | undefined,
): Promise<SqlResult<TRow>> {
  const client = await checkOut(pool)
  const session = { clean: false }
  try {
    if (!canBatch(client))
      return await inTransaction(client, locals, (inside) => inside.query<TRow>(text, values), session)
    await rememberSession(client)
    let results: QueryResult[]
    try {
      results = await sendBatch(client, [
        { text: 'begin', values: [] },
        { text: settings(client, locals), values: [] },
        { text, values: values ?? [] },
        { text: 'commit', values: [] },
        { text: check(client), values: [] },
      ])
    } catch (err) {
      session.clean = await client.query(closing(client, 'rollback')).then(isClean, () => false)
      throw err
    }
    session.clean = results[4]!.rows[0]!.clean === true
    return results[2] as unknown as SqlResult<TRow>
  } finally {
    client.release(!session.clean)
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
function settings(client: PoolClient, locals: TenantLocals): string {
  const literal = (value: string) => client.escapeLiteral(value)
  return `select ${assignments(locals)
    .map(([name, value]) => `set_config(${literal(name)}, ${literal(value)}, true)`)
    .join(', ')}`
}

const opening = (client: PoolClient, locals: TenantLocals) => `begin; ${settings(client, locals)}`

/**
 * Per pooled connection, the statement that asks whether its session is as the pool handed it
 * out: its own role, the `search_path` it had when first seen, no tenant setting.
 */
const checks = new WeakMap<PoolClient, string>()

async function rememberSession(client: PoolClient): Promise<void> {
  if (checks.has(client)) return
  const { rows } = await client.query<{ path: string }>("select current_setting('search_path') as path")
  checks.set(
    client,
    `select current_user = session_user
       and current_setting('search_path') = ${client.escapeLiteral(rows[0]!.path)}
       and coalesce(current_setting('${TENANT_SETTING}', true), '') = '' as clean`,
  )
}

const check = (client: PoolClient) => checks.get(client)!

/** Ends the transaction and asks whether the session is as the pool handed it out. */
const closing = (client: PoolClient, statement: 'commit' | 'rollback') => `${statement}; ${check(client)}`

type Ended = [{ command: string }, { rows: { clean: boolean }[] }]
const isClean = (ended: unknown) => (ended as Ended)[1].rows[0]!.clean
const committed = (ended: unknown) => (ended as Ended)[0].command === 'COMMIT'
