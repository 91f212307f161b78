/**
 * What a SQL store hands `tenant.transaction`'s callback: a connection inside a transaction in
 * which the database confines every statement to the tenant. On `tenantry/postgres` it is a
 * wrapper that passes every `query(...)` call to the `pg` client as given (config objects,
 * `rowMode`, callbacks), so an ORM that takes a `PoolClient` (Drizzle, Kysely) works on it. It is
 * lent for the callback only: once the callback settles, `query` throws, and `release()` is
 * always refused (the store ends the transaction and returns the connection).
 */
export interface SqlClient {
  query<TRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<SqlResult<TRow>>
}

/** A statement's rows, and how many rows it returned or changed. */
export interface SqlResult<TRow = Record<string, unknown>> {
  rows: TRow[]
  rowCount: number | null
}
