import { randomUUID } from 'node:crypto'
import type { CacheInvalidation, InvalidationListener, InvalidationMessage } from '../context/cache-invalidation.js'
import { PeerWatch } from './peer-watch.js'
import { RedisOutbox } from './redis-outbox.js'

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
  /**
   * How often each instance tells the others it is alive. One unheard for two beats may be
   * making changes it cannot publish, so every other instance trusts no cache until it is heard
   * again (or for 60 beats, after which it is taken for stopped). Default 500 ms: a change whose
   * publish is lost is honoured everywhere within 1.25 s.
   */
  heartbeatMs?: number
}

/** What `redisInvalidation` returns: the transport, and a handle on its subscription. */
export interface RedisInvalidation extends CacheInvalidation {
  /** Resolves once the subscription is up for the first time. */
  readonly ready: Promise<void>
  /** Whether invalidations are arriving now, from every instance; while not, the cache serves nothing. */
  readonly healthy: boolean
  /** Changes made here and not yet published (retried until they are). */
  readonly pending: number
  /** Closes the subscribing connection (the client you passed stays yours to close). */
  close(): void
}

const KINDS = new Set(['organization', 'account', 'membership', 'session'])

/**
 * Cache invalidation across instances over Redis pub/sub: every logout, revocation, password
 * change, rename, reslug, domain change or delete made on one instance is published, and every
 * other instance drops what it cached before it serves the next request. While the subscription
 * is down (Redis unreachable, the connection killed) the instance trusts no cache and reads the
 * store; ioredis reconnects and resubscribes by itself, and the cache starts empty again. A
 * publish that fails is retried, in order, until it lands; meanwhile this instance's heartbeat
 * stops, so every other instance stops trusting its cache within two and a half beats.
 *
 * @example
 * import { Redis } from 'ioredis'
 * const invalidation = redisInvalidation({ client: new Redis(process.env.REDIS_URL!) })
 * const tenancy = createTenancy({ auth, store, cache: { invalidation } })
 * await invalidation.ready
 */
export function redisInvalidation(options: RedisInvalidationOptions): RedisInvalidation {
  const { client, channel = 'tenantry:invalidate', heartbeatMs = 500 } = options ?? ({} as RedisInvalidationOptions)
  const redis = client as RedisClient
  if (typeof redis?.publish !== 'function' || typeof redis.duplicate !== 'function')
    throw new TypeError('tenantry: redisInvalidation needs { client }, an ioredis client')
  if (typeof channel !== 'string' || channel === '') throw new TypeError('tenantry: channel must be a non-empty string')
  if (!Number.isInteger(heartbeatMs) || heartbeatMs < 10)
    throw new TypeError('tenantry: heartbeatMs must be a whole number of milliseconds, 10 or more')
  // Tells this instance's own messages apart: it applied them before publishing.
  const origin = randomUUID()
  const outbox = new RedisOutbox((message) => redis.publish(channel, message))
  const peers = new PeerWatch(2 * heartbeatMs, 60 * heartbeatMs)
  let subscriber: RedisSubscriber | undefined
  let beat: NodeJS.Timeout | undefined
  let subscribed = false
  let healthy = false
  let resolveReady!: () => void
  const ready = new Promise<void>((resolve) => (resolveReady = resolve))

  return {
    ready,
    get healthy() {
      return healthy
    },
    get pending() {
      return outbox.pending
    },
    publish(message: InvalidationMessage) {
      outbox.push(JSON.stringify({ o: origin, k: message.kind, i: message.id }))
    },
    connect(listener: InvalidationListener) {
      if (subscriber) throw new TypeError('tenantry: one redisInvalidation serves one tenancy')
      const connection = redis.duplicate()
      subscriber = connection
      const update = () => {
        const value = subscribed && !peers.anyQuiet()
        if (value === healthy) return
        healthy = value
        listener.setHealthy(value)
        if (value) resolveReady()
      }
      connection.on('message', (from, raw) => {
        if (from !== channel) return
        const message = parse(raw)
        if (!message || message.origin === origin) return
        if (message.kind === 'goodbye') peers.left(message.origin)
        else peers.heard(message.origin)
        if ('id' in message) listener.invalidate({ kind: message.kind, id: message.id })
        update()
      })
      // 'ready' comes on the first connection and after every reconnect.
      connection.on('ready', () => {
        connection.subscribe(channel).then(
          () => {
            subscribed = true
            update()
          },
          () => {
            subscribed = false
            update()
          },
        )
      })
      connection.on('close', () => {
        subscribed = false
        update()
      })
      // Errors end in 'close' and a reconnect; the health above already says what matters.
      connection.on('error', () => {})
      // Beats every heartbeatMs, listens for silence every half beat: a quiet peer is noticed
      // within two and a half beats of its last word.
      let tick = 0
      beat = setInterval(() => {
        // Silent while a change waits to be published: the others must not trust their caches.
        if (tick++ % 2 === 0 && outbox.pending === 0)
          redis.publish(channel, JSON.stringify({ o: origin, h: 1 })).catch(() => {})
        update()
      }, heartbeatMs / 2)
      beat.unref?.()
    },
    close() {
      healthy = false
      clearInterval(beat)
      outbox.close()
      // A clean stop: the others need not wait for this instance's silence to be forgotten.
      redis.publish(channel, JSON.stringify({ o: origin, b: 1 })).catch(() => {})
      subscriber?.disconnect()
    },
  }
}

type Received = { origin: string } & (
  | { kind: InvalidationMessage['kind']; id: string }
  | { kind: 'heartbeat' | 'goodbye' }
)

function parse(raw: string): Received | undefined {
  try {
    const { o, k, i, h, b } = JSON.parse(raw) as { o?: unknown; k?: unknown; i?: unknown; h?: unknown; b?: unknown }
    if (typeof o !== 'string') return undefined
    if (h === 1) return { origin: o, kind: 'heartbeat' }
    if (b === 1) return { origin: o, kind: 'goodbye' }
    if (typeof k === 'string' && KINDS.has(k) && typeof i === 'string')
      return { origin: o, kind: k as InvalidationMessage['kind'], id: i }
  } catch {
    // Not ours: ignore it.
  }
  return undefined
}
