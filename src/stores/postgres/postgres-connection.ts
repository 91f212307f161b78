import type { Pool, PoolClient } from 'pg'

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
