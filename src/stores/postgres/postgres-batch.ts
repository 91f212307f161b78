import { InvalidQueryError } from '../../errors.js'
import { prepareValue } from './postgres-literals.js'

/** The statements of a batch, each with its own parameters. */
export interface BatchStep {
  text: string
  values: readonly unknown[]
}

/** A statement's answer, as pg's `Result` gives it. */
export interface BatchResult {
  command: string | null
  rowCount: number | null
  rows: Record<string, unknown>[]
}

/** The messages of the extended query protocol that pg's JavaScript `Connection` writes. */
interface Wire {
  parse(message: { text: string; name: string; types: never[] }): void
  bind(message: { portal: string; statement: string; values: unknown[]; binary: boolean }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  sync(): void
  stream: { cork?(): void; uncork?(): void }
  parsedStatements?: Record<string, unknown>
  submittedNamedStatements?: Record<string, unknown>
}

/** What of a pg client the batch touches: depended on by shape, each part checked before use. */
export interface WireClient {
  query(...args: unknown[]): unknown
  connection?: Partial<Wire>
  /** pg-native's cache of the statements it prepared. */
  namedQueries?: Record<string, unknown>
  constructor: { Query?: unknown }
}

/** A `Query` of pg's own, whose `submit` (the Submittable interface) the batch replaces. */
interface BatchQuery {
  submit(wire: Wire): Error | null
  handleEmptyQuery(...args: unknown[]): void
}
type QueryClass = new (config: { text: string; callback(err: Error | null, results: unknown): void }) => BatchQuery

/**
 * Whether `client` speaks the protocol itself (pg's JavaScript client does; pg-native hands
 * queries to libpq, which sends one statement per Sync).
 */
const canBatch = (client: WireClient): boolean =>
  typeof client.connection?.parse === 'function' &&
  typeof client.connection.sync === 'function' &&
  typeof client.constructor.Query === 'function'

/**
 * Sends `steps` in one batch of the extended query protocol under a single Sync: one round trip,
 * real parameters (no values spliced into SQL), and the server skips every step after one that
 * fails. Resolves with each step's result, in order. Built on the client's own `Query` (its
 * result parsing and type parsers), with only the messages it writes replaced; a step whose text
 * holds no statement (empty, or only a comment) fails the batch with `InvalidQueryError`.
 */
export function sendBatch(client: WireClient, steps: readonly BatchStep[]): Promise<BatchResult[]> {
  const Query = client.constructor.Query as QueryClass
  return new Promise((resolve, reject) => {
    // Mapped first, so a value pg cannot send fails the batch before a byte of it is written.
    const bound = steps.map((step) => ({ text: step.text, values: step.values.map((value) => prepareValue(value)) }))
    let empty = false
    const query = new Query({
      text: steps.map((step) => step.text).join(';\n'),
      callback: (err, results) => {
        if (err) reject(err)
        else if (empty) reject(new InvalidQueryError('tenant.query needs one SQL statement: the text holds none'))
        else resolve(results as BatchResult[])
      },
    })
    // The server answers an empty statement with EmptyQueryResponse and no result of its own.
    query.handleEmptyQuery = () => {
      empty = true
    }
    query.submit = (wire) => {
      wire.stream.cork?.()
      try {
        for (const step of bound) {
          wire.parse({ text: step.text, name: '', types: [] })
          wire.bind({ portal: '', statement: '', values: step.values, binary: false })
          wire.describe({ type: 'P', name: '' })
          wire.execute({ portal: '', rows: 0 })
        }
        wire.sync()
      } finally {
        wire.stream.uncork?.()
      }
      return null
    }
    client.query(query)
  })
}

const checked = new WeakMap<object, Promise<boolean>>()
const plainOnly = new WeakSet<object>()

/** `postgresStore({ pipeline: false })`: tenant statements on `pool` go one query at a time. */
export const sendPlainOn = (pool: object): void => {
  plainOnly.add(pool)
}

/**
 * Whether statements on `pool` may be batched: the client has the parts the batch writes with,
 * and, once per pool, a two-step batch with a parameter answered as it should. Anything else
 * (another pg, pg-native, a wrapped client) takes plain queries: slower, never wrong.
 */
export function batchesOn(pool: object, client: WireClient): Promise<boolean> {
  if (plainOnly.has(pool) || !canBatch(client)) return Promise.resolve(false)
  let verdict = checked.get(pool)
  if (verdict === undefined) {
    verdict = sendBatch(client, [
      { text: 'select $1::text as probe', values: ["it's"] },
      { text: 'select 2 as two', values: [] },
    ]).then(
      (results) => results.length === 2 && results[0]?.rows[0]?.probe === "it's" && results[1]?.rows[0]?.two === 2,
      () => false,
    )
    checked.set(pool, verdict)
  }
  return verdict
}

/**
 * After `DISCARD ALL` has deallocated every prepared statement on the server, forgets pg's
 * client-side record of them, so the host's named queries (`{ name, text }`) are parsed again.
 * False when the client keeps no record tenantry knows of: the caller then destroys the
 * connection rather than return one whose record may be stale.
 */
export function forgetPreparedStatements(client: WireClient): boolean {
  const caches = [
    client.connection?.parsedStatements,
    client.connection?.submittedNamedStatements,
    client.namedQueries,
  ].filter((cache) => typeof cache === 'object' && cache !== null)
  for (const cache of caches) for (const name of Object.keys(cache)) delete cache[name]
  return caches.length > 0
}
