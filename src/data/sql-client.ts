/**
 * What a SQL store hands `tenant.transaction`'s callback: a connection inside a transaction in
 * which the database confines every statement to the tenant. On `tenantry/postgres` it is the
 * `pg` `PoolClient` itself, so an ORM that takes one (Drizzle, Kysely) works on it.
 */
export interface SqlClient {
  query<TRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<SqlResult<TRow>>
}

/** A statement's rows, and how many rows it returned or changed. */
export interface SqlResult<TRow = Record<string, unknown>> {
  rows: TRow[]
  rowCount: number | null
}
