import type { PoolClient } from 'pg'
import { identifier } from './postgres-setup.js'
import { qualified } from './postgres-tenant-tables.js'

/** The host's own tables every tenant may reach inside its transactions, and how far. */
export interface SharedTables {
  /** As `users` or `app.users`; a table without a schema is in `public`. */
  tables: readonly string[]
  /** `'select'` (the default): read only. `'write'`: select, insert, update and delete. */
  privileges?: 'select' | 'write'
}

const schemaOf = (table: string) => (table.includes('.') ? table.split('.')[0]! : 'public')

/** The schemas of the shared tables, in the order declared: what a 'schema' tenant's `search_path` ends with. */
export function sharedSchemas(shared: SharedTables | undefined): string[] {
  return [...new Set((shared?.tables ?? []).map(schemaOf))]
}

/**
 * Grants the tenants' group role what `shared` declares on the host's tables. They are not
 * tenant tables: no row-level security of tenantry's applies, every tenant sees (or, with
 * `'write'`, changes) every row. The owner role (or the pool's) must own them or hold the grant option.
 */
export async function grantSharedTables(
  client: PoolClient,
  shared: SharedTables | undefined,
  group: string,
): Promise<void> {
  if (!shared) return
  const privileges = shared.privileges === 'write' ? 'select, insert, update, delete' : 'select'
  for (const schema of sharedSchemas(shared))
    await client.query(`grant usage on schema ${identifier(schema)} to ${identifier(group)}`)
  for (const table of shared.tables) {
    await client.query(`revoke insert, update, delete on ${qualified(table)} from ${identifier(group)}`)
    await client.query(`grant ${privileges} on ${qualified(table)} to ${identifier(group)}`)
  }
}
