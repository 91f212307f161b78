import type { Pool } from 'pg'
import type { SqlClient } from '../../data/sql-client.js'

/** The setting the row-level security policies read. */
export const TENANT_SETTING = 'tenantry.tenant_id'

/**
 * Runs `fn` in a transaction on its own connection, as `role`, with `settings` (the tenant's
 * setting, or its `search_path`) local to the transaction: one round trip to begin, `fn`'s
 * statements, one to commit. Local settings end with the transaction; a connection whose session
 * `fn` changed anyway (a session-level `SET ROLE`, `search_path` or tenant setting) is destroyed
 * rather than handed to the next caller, whose queries would run as someone else.
 */
export async function runTenantTransaction<TResult>(
  pool: Pool,
  local: { role: string; searchPath?: string; settings?: Record<string, string> },
  fn: (client: SqlClient) => Promise<TResult>,
): Promise<TResult> {
  const client = await pool.connect()
  let clean = false
  try {
    const literal = (value: string) => client.escapeLiteral(value)
    const assignments = [
      ['role', local.role],
      ...(local.searchPath === undefined ? [] : [['search_path', `"${local.searchPath.replaceAll('"', '""')}"`]]),
      ...Object.entries(local.settings ?? {}),
    ].map(([name, value]) => `set_config(${literal(name!)}, ${literal(value!)}, true)`)
    const opened = (await client.query(
      `select current_setting('search_path') as path; begin; select ${assignments.join(', ')}`,
    )) as unknown as { rows: { path: string }[] }[]
    const check = `select current_user = session_user and current_setting('search_path') = ${literal(opened[0]!.rows[0]!.path)} and coalesce(current_setting('${TENANT_SETTING}', true), '') = '' as clean`
    const end = async (statement: 'commit' | 'rollback') => {
      const [ended, checked] = (await client.query(`${statement}; ${check}`)) as unknown as [
        { command: string },
        { rows: { clean: boolean }[] },
      ]
      clean = checked.rows[0]!.clean
      return ended.command
    }
    let result: TResult
    try {
      result = await fn(client as unknown as SqlClient)
    } catch (err) {
      await end('rollback').catch(() => {})
      throw err
    }
    // A statement that failed inside fn, its error swallowed, turns COMMIT into ROLLBACK.
    if ((await end('commit')) !== 'COMMIT')
      throw new Error('tenantry: the transaction was rolled back: a statement in it failed')
    return result
  } finally {
    client.release(!clean)
  }
}
