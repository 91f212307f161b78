import type { SqlClient } from '../../data/sql-client.js'

/** What of a connection a lent client passes calls to. */
interface Queryable {
  query(...args: unknown[]): unknown
}

/**
 * The client `tenant.transaction` hands its callback: every `query(...)` goes to `client` with
 * its arguments as given (config objects, `rowMode`, callbacks: what Drizzle and Kysely send)
 * while `open()` holds, and throws once it does not, never reaching the connection, which by
 * then may serve another tenant. `release()` is refused: the connection is tenantry's to end.
 *
 * @example
 * const lent = lend(client, () => running)
 */
export function lend(client: Queryable, open: () => boolean): SqlClient {
  return {
    query: ((...args: unknown[]) => {
      if (!open())
        throw new TypeError(
          'tenantry: this client was lent to a tenant.transaction callback that has settled; its connection may now serve another tenant. Use the client only inside the callback, and await every query before returning',
        )
      return client.query(...args)
    }) as SqlClient['query'],
    release: () => {
      throw new TypeError(
        'tenantry: the client of tenant.transaction cannot be released: return from the callback, and tenantry commits and returns the connection',
      )
    },
  } as SqlClient
}
