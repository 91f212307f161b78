import type pg from 'pg'
import { createTenancy } from 'tenantry'
import { type PostgresStoreOptions, postgresStore } from 'tenantry/postgres'
import type { usePostgresDatabase } from './postgres.js'
import { TEST_AUTH } from './secret.js'

/**
 * A tenancy on `pool`, migrated as at deploy, with a notes table its tenants write (named for the
 * store on 'rls', where the host's tables are shared by every store on the database).
 */
export async function notesTenancy(
  database: ReturnType<typeof usePostgresDatabase>,
  pool: pg.Pool,
  strategy: 'rls' | 'schema',
  options: Partial<PostgresStoreOptions> = {},
) {
  const schema = database.fresh()
  const notes = strategy === 'rls' ? `notes_${schema}` : 'notes'
  const store = postgresStore({
    pool,
    schema,
    strategy,
    ...(strategy === 'rls'
      ? {
          migrations: [
            `create table ${notes} (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))`,
          ],
          tables: [notes],
          tenantRole: database.role(),
        }
      : { migrations: [`create table ${notes} (id integer primary key, body text not null)`] }),
    ...options,
  } as PostgresStoreOptions)
  const tenancy = createTenancy({ auth: TEST_AUTH, store })
  await tenancy.migrate()
  return { store, tenancy, notes }
}
