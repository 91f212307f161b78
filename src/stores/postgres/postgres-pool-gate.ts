import { AsyncLocalStorage } from 'node:async_hooks'
import { DatabaseUnavailableError } from '../../errors.js'
import { withAcquireDeadline } from './postgres-bounded-pool.js'

/** How much of the pool tenant calls may hold. */
export interface PoolGateLimits {
  /** Connections all tenant calls together may hold: the rest stay for tenantry's own records. */
  tenantConnections: number
  /** Connections one organization's calls may hold at once. */
  perOrganization: number
  /** How long a call may wait for its turn and its connection together. */
  acquireTimeoutMs: number
}

/** Admits tenant calls to the pool, each holding one connection while `fn` runs. */
export interface PoolGate {
  admit<TResult>(organization: string, fn: () => Promise<TResult>): Promise<TResult>
}

interface Waiter {
  organization: string
  admit(): void
}

/** The gate and organization a call was admitted for: a call it makes for the same one is already in. */
const admitted = new AsyncLocalStorage<{ gate: PoolGate; organization: string }>()

/**
 * A turnstile in front of the pool for tenant calls: one organization never holds more than
 * `perOrganization` connections and all of them together never more than `tenantConnections`,
 * so a tenant holding transactions open cannot make other tenants, or a login, wait for it.
 * Waiting calls are served in arrival order, skipping those whose organization is at its share
 * (a busy organization does not block the queue for the others); a call still waiting after
 * `acquireTimeoutMs` is `DatabaseUnavailableError`. The wait happens here, not in pg's pool, so
 * record queries never queue behind tenant calls.
 */
export function poolGate(limits: PoolGateLimits): PoolGate {
  const { tenantConnections, perOrganization, acquireTimeoutMs } = limits
  let held = 0
  const heldBy = new Map<string, number>()
  const waitingBy = new Map<string, number>()
  const queue: Waiter[] = []
  const count = (map: Map<string, number>, key: string, by: number) => {
    const next = (map.get(key) ?? 0) + by
    if (next === 0) map.delete(key)
    else map.set(key, next)
  }
  const hasRoom = (organization: string) =>
    held < tenantConnections && (heldBy.get(organization) ?? 0) < perOrganization
  const take = (organization: string) => {
    held++
    count(heldBy, organization, 1)
  }
  const serve = () => {
    for (let i = 0; i < queue.length && held < tenantConnections; ) {
      const waiter = queue[i]!
      if (!hasRoom(waiter.organization)) {
        i++
        continue
      }
      queue.splice(i, 1)
      count(waitingBy, waiter.organization, -1)
      take(waiter.organization)
      waiter.admit()
    }
  }
  const turn = (organization: string, deadline: number): Promise<void> => {
    // An organization's own earlier callers go first, so its calls keep their order.
    if (hasRoom(organization) && !waitingBy.has(organization)) {
      take(organization)
      return Promise.resolve()
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        organization,
        admit: () => {
          clearTimeout(timer)
          resolve()
        },
      }
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(waiter), 1)
        count(waitingBy, organization, -1)
        reject(new DatabaseUnavailableError(`no database connection within ${acquireTimeoutMs} ms`))
      }, deadline - Date.now())
      queue.push(waiter)
      count(waitingBy, organization, 1)
    })
  }
  const gate: PoolGate = {
    async admit(organization, fn) {
      const inside = admitted.getStore()
      if (inside?.gate === gate && inside.organization === organization) return fn()
      const deadline = Date.now() + acquireTimeoutMs
      await turn(organization, deadline)
      try {
        return await admitted.run({ gate, organization }, () => withAcquireDeadline(deadline, fn))
      } finally {
        held--
        count(heldBy, organization, -1)
        serve()
      }
    },
  }
  return gate
}
