import type { Pool } from 'pg'
import type { SqlTransactionOptions } from '../../data/sql-options.js'
import { poolGate, type PoolGate } from './postgres-pool-gate.js'

/** What a PostgreSQL store's bounds are made of; every field has a default. */
export interface PostgresBoundsOptions {
  acquireTimeoutMs?: number
  maxConnectionsPerOrganization?: number
  reservedConnections?: number
  statementTimeoutMs?: number
  idleInTransactionTimeoutMs?: number
}

// Well inside the 30–60 s a load balancer or client waits, so a request that cannot get a
// connection answers a retryable 503 of its own rather than a gateway timeout; and long enough
// that a burst's queue drains without refusing anyone.
const ACQUIRE_TIMEOUT_MS = 5_000
// A request's statement should end before the proxy in front of the app gives up on it.
const STATEMENT_TIMEOUT_MS = 30_000
// A transaction idle this long holds its connection and its locks while the app awaits
// something else: long for work in the same process, short next to a pool-wide stall.
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
// pg-pool's own default `max`.
const PG_POOL_MAX = 10
// setTimeout and PostgreSQL's timeouts (an int4 of milliseconds) both stop here.
const MAX_MS = 2 ** 31 - 1

/** Tenant calls' share of the pool and their transactions' timeouts, as one store applies them. */
export interface TenantBounds {
  readonly gate: PoolGate
  /** The transaction-local settings that bound a tenant call: its two timeouts. */
  settings(options?: SqlTransactionOptions): Record<string, string>
}

/** `acquireTimeoutMs`, checked: a TypeError at construction for anything but whole milliseconds. */
export function acquireTimeoutOf(options: PostgresBoundsOptions): number {
  return milliseconds('acquireTimeoutMs', options.acquireTimeoutMs, ACQUIRE_TIMEOUT_MS, 1)
}

/**
 * The store's bounds, from its options and the pool's `max`: by default tenant calls leave a
 * fifth of the pool (at least one connection, on a pool of two or more) to tenantry's own record
 * queries, and one organization may hold half of what tenant calls may.
 */
export function tenantBounds(pool: Pool, options: PostgresBoundsOptions): TenantBounds {
  const acquireTimeoutMs = acquireTimeoutOf(options)
  const max = poolMax(pool)
  const reserved = count(
    'reservedConnections',
    options.reservedConnections,
    max <= 1 ? 0 : Math.max(1, Math.floor(max / 5)),
  )
  if (reserved >= max)
    throw new TypeError(`tenantry: reservedConnections (${reserved}) must leave tenant calls some of the pool's ${max}`)
  const tenantConnections = max - reserved
  const perOrganization = count(
    'maxConnectionsPerOrganization',
    options.maxConnectionsPerOrganization,
    Math.max(1, Math.ceil(tenantConnections / 2)),
  )
  if (perOrganization < 1) throw new TypeError('tenantry: maxConnectionsPerOrganization must be at least 1')
  const statement = milliseconds('statementTimeoutMs', options.statementTimeoutMs, STATEMENT_TIMEOUT_MS, 0)
  const idle = milliseconds(
    'idleInTransactionTimeoutMs',
    options.idleInTransactionTimeoutMs,
    IDLE_IN_TRANSACTION_TIMEOUT_MS,
    0,
  )
  return {
    gate: poolGate({ tenantConnections, perOrganization, acquireTimeoutMs }),
    settings: (call = {}) => ({
      // 0 turns a timeout off, as in PostgreSQL.
      statement_timeout: String(call.statementTimeoutMs ?? statement),
      idle_in_transaction_session_timeout: String(call.idleInTransactionTimeoutMs ?? idle),
    }),
  }
}

/** The pool's `max` (pg-pool's option), or pg-pool's default for a pool that does not say. */
function poolMax(pool: Pool): number {
  const max = (pool as { options?: { max?: unknown } }).options?.max
  return typeof max === 'number' && Number.isInteger(max) && max >= 1 ? max : PG_POOL_MAX
}

function milliseconds(name: string, value: unknown, fallback: number, least: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < least || value > MAX_MS)
    throw new TypeError(`tenantry: ${name} must be a whole number of milliseconds from ${least} to ${MAX_MS}`)
  return value
}

function count(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new TypeError(`tenantry: ${name} must be a whole number of connections`)
  return value
}
