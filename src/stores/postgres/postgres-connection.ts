import type { Pool, PoolClient } from 'pg'
import { DatabaseUnavailableError } from '../../errors.js'

/**
 * A connection from the pool that survives losing its server: pg emits `error` on a checked-out
 * client whose socket closes, and without a listener that error would end the process. The
 * statement in flight fails with it; `release` (pass the error) then discards the connection.
 */
export async function checkOut(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect()
  const ignore = () => {}
  client.on('error', ignore)
  const release = client.release.bind(client)
  client.release = (err?: Error | boolean) => {
    // A discarded connection keeps the listener: its server may still hang up on it as it closes.
    if (!err) client.removeListener('error', ignore)
    release(err)
  }
  return client
}

/**
 * `pool.connect()`, answered within `timeoutMs`: a connection, or `DatabaseUnavailableError`
 * (retryable). pg-pool's own `connectionTimeoutMillis`, when the host set one no longer than
 * ours, already bounds the wait and takes its waiter out of the queue, so it is left to do that.
 * Otherwise our timer answers, and a connection that arrives after it goes straight back.
 */
export function connectWithin(pool: Pool, timeoutMs: number): Promise<PoolClient> {
  const unavailable = (cause: unknown) =>
    new DatabaseUnavailableError(`no database connection within ${timeoutMs} ms`, { cause })
  const connecting = pool.connect()
  const own = (pool as { options?: { connectionTimeoutMillis?: unknown } }).options?.connectionTimeoutMillis
  if (typeof own === 'number' && own > 0 && own <= timeoutMs)
    return connecting.catch((err: unknown) => Promise.reject(unavailable(err)))
  return new Promise((resolve, reject) => {
    let late = false
    const timer = setTimeout(() => {
      late = true
      reject(unavailable(undefined))
    }, timeoutMs)
    connecting.then(
      (client) => {
        clearTimeout(timer)
        if (late) client.release()
        else resolve(client)
      },
      (err: unknown) => {
        clearTimeout(timer)
        if (!late) reject(unavailable(err))
      },
    )
  })
}
