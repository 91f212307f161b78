import { randomUUID } from 'node:crypto'
import type { CacheInvalidation, InvalidationListener, InvalidationMessage } from '../context/cache-invalidation.js'

/** The part of an ioredis client this uses. */
interface RedisClient {
  publish(channel: string, message: string): Promise<unknown>
  duplicate(): RedisSubscriber
}
interface RedisSubscriber {
  subscribe(channel: string): Promise<unknown>
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready' | 'close' | 'error', listener: (...args: unknown[]) => void): unknown
  disconnect(): void
}

export interface RedisInvalidationOptions {
  /** Your ioredis client. It publishes; a duplicate of it subscribes (a subscribed connection can do nothing else). */
  client: unknown
  /** The pub/sub channel every instance of the app shares. Default `'tenantry:invalidate'`. */
  channel?: string
}

/** What `redisInvalidation` returns: the transport, and a handle on its subscription. */
export interface RedisInvalidation extends CacheInvalidation {
  /** Resolves once the subscription is up for the first time. */
  readonly ready: Promise<void>
  /** Whether invalidations are arriving now; while not, the cache serves nothing. */
  readonly healthy: boolean
  /** Closes the subscribing connection (the client you passed stays yours to close). */
  close(): void
}

const KINDS = new Set(['organization', 'account', 'membership', 'session'])

/**
 * Cache invalidation across instances over Redis pub/sub: every logout, revocation, password
 * change, rename, reslug, domain change or delete made on one instance is published, and every
 * other instance drops what it cached before it serves the next request. While the subscription
 * is down (Redis unreachable, the connection killed) the instance trusts no cache and reads the
 * store; ioredis reconnects and resubscribes by itself, and the cache starts empty again.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const invalidation = redisInvalidation({ client: new Redis(process.env.REDIS_URL!) })
 * const tenancy = createTenancy({ auth, store, cache: { invalidation } })
 * await invalidation.ready
 */
export function redisInvalidation(options: RedisInvalidationOptions): RedisInvalidation {
  const { client, channel = 'tenantry:invalidate' } = options ?? ({} as RedisInvalidationOptions)
  const redis = client as RedisClient
  if (typeof redis?.publish !== 'function' || typeof redis.duplicate !== 'function')
    throw new TypeError('tenantry: redisInvalidation needs { client }, an ioredis client')
  if (typeof channel !== 'string' || channel === '') throw new TypeError('tenantry: channel must be a non-empty string')
  // Tells this instance's own messages apart: it applied them before publishing.
  const origin = randomUUID()
  let subscriber: RedisSubscriber | undefined
  let healthy = false
  let resolveReady!: () => void
  const ready = new Promise<void>((resolve) => (resolveReady = resolve))

  return {
    ready,
    get healthy() {
      return healthy
    },
    publish(message: InvalidationMessage) {
      // A failed publish is not the caller's failure; the other instances' TTL still bounds it.
      redis.publish(channel, JSON.stringify({ o: origin, k: message.kind, i: message.id })).catch(() => {})
    },
    connect(listener: InvalidationListener) {
      if (subscriber) throw new TypeError('tenantry: one redisInvalidation serves one tenancy')
      const connection = redis.duplicate()
      subscriber = connection
      const setHealthy = (value: boolean) => {
        if (value === healthy) return
        healthy = value
        listener.setHealthy(value)
        if (value) resolveReady()
      }
      connection.on('message', (from, raw) => {
        if (from !== channel) return
        const message = parse(raw)
        if (message && message.origin !== origin) listener.invalidate({ kind: message.kind, id: message.id })
      })
      // 'ready' comes on the first connection and after every reconnect.
      connection.on('ready', () => {
        connection.subscribe(channel).then(
          () => setHealthy(true),
          () => setHealthy(false),
        )
      })
      connection.on('close', () => setHealthy(false))
      // Errors end in 'close' and a reconnect; the health above already says what matters.
      connection.on('error', () => {})
    },
    close() {
      healthy = false
      subscriber?.disconnect()
    },
  }
}

function parse(raw: string): { origin: string; kind: InvalidationMessage['kind']; id: string } | undefined {
  try {
    const { o, k, i } = JSON.parse(raw) as { o?: unknown; k?: unknown; i?: unknown }
    if (typeof o === 'string' && typeof k === 'string' && KINDS.has(k) && typeof i === 'string')
      return { origin: o, kind: k as InvalidationMessage['kind'], id: i }
  } catch {
    // Not ours: ignore it.
  }
  return undefined
}
