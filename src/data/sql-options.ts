/**
 * Bounds for one `tenant.query`, in place of the store's defaults. 0 turns a timeout off.
 *
 * @example
 * await req.tenant.query('select * from reports where id = $1', [id], { statementTimeoutMs: 120_000 })
 */
export interface SqlQueryOptions {
  /** The longest any one statement may run; past it the statement is cancelled (`QueryTimeoutError`). */
  statementTimeoutMs?: number
}

/**
 * Bounds for one `tenant.transaction`, in place of the store's defaults. 0 turns a timeout off.
 *
 * @example
 * await req.tenant.transaction(async (client) => exportAll(client), { statementTimeoutMs: 0 })
 */
export interface SqlTransactionOptions extends SqlQueryOptions {
  /**
   * The longest the transaction may sit idle between statements (the callback awaiting
   * something else); past it the server ends the session and the transaction rolls back.
   */
  idleInTransactionTimeoutMs?: number
}

const MAX_MS = 2 ** 31 - 1

/**
 * `options` as given to `tenant.query` or `tenant.transaction`, checked: the host's code chose
 * them, so anything but whole milliseconds, or a field `allowed` does not list, is a TypeError.
 */
export function sqlOptions(
  options: unknown,
  allowed: readonly (keyof SqlTransactionOptions)[],
): SqlTransactionOptions | undefined {
  if (options === undefined) return undefined
  if (typeof options !== 'object' || options === null)
    throw new TypeError('tenantry: SQL call options must be an object')
  for (const [name, value] of Object.entries(options)) {
    if (!(allowed as readonly string[]).includes(name))
      throw new TypeError(`tenantry: ${name} is not an option here; these are: ${allowed.join(', ')}`)
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_MS))
      throw new TypeError(`tenantry: ${name} must be a whole number of milliseconds from 0 to ${MAX_MS}`)
  }
  return options as SqlTransactionOptions
}
