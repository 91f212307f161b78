import { AsyncLocalStorage } from 'node:async_hooks'
import type { Pool, QueryResult } from 'pg'
import { checkOut, connectWithin } from './postgres-connection.js'

/** A wait already begun (in a queue of tenantry's own) that the next acquire must finish within. */
interface Deadline {
  at: number
  spent: boolean
}

const deadlines = new AsyncLocalStorage<Deadline>()

/**
 * Runs `fn` so that its first connection acquire ends by `at` (epoch ms): a call that waited its
 * turn in a queue of tenantry's first waits for a connection only for what is left of its
 * budget. Later acquires in `fn` (say, a record query from host code) get a budget of their own.
 */
export function withAcquireDeadline<TResult>(at: number, fn: () => Promise<TResult>): Promise<TResult> {
  return deadlines.run({ at, spent: false }, fn)
}

/**
 * `pool`, except that every connection it hands out (`connect`, and the one `query` uses) comes
 * within `acquireTimeoutMs` or not at all: `DatabaseUnavailableError` (HTTP 503, retryable),
 * never a request that hangs behind a full pool. Everything else is the host's pool as is.
 */
export function boundedPool(pool: Pool, acquireTimeoutMs: number): Pool {
  // One per host pool and timeout: what tenantry keeps per pool (its owner role, its batching) stays one.
  const made = bounded.get(pool) ?? bounded.set(pool, new Map()).get(pool)!
  const existing = made.get(acquireTimeoutMs)
  if (existing) return existing
  const wrapper = wrap(pool, acquireTimeoutMs)
  made.set(acquireTimeoutMs, wrapper)
  return wrapper
}

const bounded = new WeakMap<Pool, Map<number, Pool>>()

function wrap(pool: Pool, acquireTimeoutMs: number): Pool {
  const connect = () => {
    const deadline = deadlines.getStore()
    if (!deadline || deadline.spent) return connectWithin(pool, acquireTimeoutMs)
    deadline.spent = true
    return connectWithin(pool, Math.max(1, deadline.at - Date.now()))
  }
  const query = async (text: string, values?: unknown[]): Promise<QueryResult> => {
    const client = await checkOut(proxy)
    let broken: Error | undefined
    try {
      return await client.query(text, values)
    } catch (err) {
      // A statement's own error leaves the connection as it was; anything else may not have.
      if ((err as { severity?: unknown }).severity !== 'ERROR') broken = err as Error
      throw err
    } finally {
      client.release(broken)
    }
  }
  const proxy: Pool = new Proxy(pool, {
    get(target, key) {
      if (key === 'connect') return connect
      if (key === 'query') return query
      const value = Reflect.get(target, key, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  return proxy
}
