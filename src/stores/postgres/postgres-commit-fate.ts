import type { Pool } from 'pg'
import { checkOut } from './postgres-connection.js'

const POLL_MS = 20
// A backend cut off before COMMIT arrived aborts when it reads the closed socket; one that got
// COMMIT finishes it. Past this, it is asked to stop (allowed for a backend of the same role).
const TERMINATE_AFTER_MS = 2_000
const GIVE_UP_AFTER_MS = 10_000

/**
 * Whether a transaction whose COMMIT lost its answer committed: waits until the server has
 * settled transaction `xid` of backend `pid`, by `txid_status`, read on another connection.
 * `undefined` if it cannot tell in time. Until it can, "the record is not there" proves nothing:
 * the COMMIT may still land. Call it after discarding the connection that lost the answer: this
 * takes one of the pool's, and a pool of one has no other.
 */
export async function commitFate(pool: Pool, pid: number, xid: string): Promise<'committed' | 'aborted' | undefined> {
  const client = await checkOut(pool).catch(() => undefined)
  if (!client) return undefined
  let broken: Error | undefined
  try {
    const started = Date.now()
    for (let terminated = false; Date.now() - started < GIVE_UP_AFTER_MS; ) {
      const { rows } = await client.query<{ status: string | null }>('select txid_status($1::bigint) as status', [xid])
      const status = rows[0]?.status
      if (status === 'committed' || status === 'aborted') return status
      if (status !== 'in progress') return undefined
      if (!terminated && Date.now() - started > TERMINATE_AFTER_MS) {
        terminated = true
        await client.query('select pg_terminate_backend($1)', [pid]).catch(() => {})
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    }
    return undefined
  } catch (err) {
    broken = err as Error
    return undefined
  } finally {
    client.release(broken)
  }
}
