import pg, { type PoolClient, type QueryResult } from 'pg'

/** The statements of a batch, each with its own parameters. */
export interface BatchStep {
  text: string
  values: readonly unknown[]
}

interface Wire {
  parse(message: { text: string; name: string; types: never[] }): void
  bind(message: { portal: string; statement: string; values: unknown[]; binary: boolean }): void
  describe(message: { type: 'P'; name: string }): void
  execute(message: { portal: string; rows: number }): void
  sync(): void
  stream: { cork?(): void; uncork?(): void }
}

const { prepareValue } = (pg as unknown as { utils: { prepareValue(value: unknown): unknown } }).utils

/**
 * Whether `client` speaks the protocol itself (pg's JavaScript client does; pg-native hands
 * queries to libpq, which sends one statement per Sync).
 */
export const canBatch = (client: PoolClient): boolean =>
  typeof (client as unknown as { connection?: Partial<Wire> }).connection?.parse === 'function' &&
  typeof (client.constructor as { Query?: unknown }).Query === 'function'

/**
 * Sends `steps` in one batch of the extended query protocol under a single Sync: one round trip,
 * real parameters (no values spliced into SQL), and the server skips every step after one that
 * fails. Resolves with each step's result, in order. Built on the client's own `Query` (its
 * result parsing and type parsers), with only the messages it writes replaced.
 */
export function sendBatch(client: PoolClient, steps: readonly BatchStep[]): Promise<QueryResult[]> {
  const Query = (client.constructor as unknown as { Query: typeof pg.Query }).Query
  return new Promise((resolve, reject) => {
    // Mapped first, so a value pg cannot send fails the batch before a byte of it is written.
    const bound = steps.map((step) => ({ text: step.text, values: step.values.map((value) => prepareValue(value)) }))
    const query = new Query({
      text: steps.map((step) => step.text).join(';\n'),
      callback: (err: Error | null, results: unknown) => (err ? reject(err) : resolve(results as QueryResult[])),
    } as never) as unknown as { submit(wire: Wire): Error | null }
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
    client.query(query as never)
  })
}
