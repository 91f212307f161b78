import pg from 'pg'

/**
 * A string as a PostgreSQL literal, as pg's own `escapeLiteral` writes it. Ours, because
 * `client.escapeLiteral` and `pg.escapeLiteral` are missing on some pg versions in the peer range
 * (8.11–8.14) and on pg-native, and `import 'tenantry/postgres'` must load on every one of them.
 *
 * @example
 * escapeLiteral("it's") // "'it''s'"
 */
export function escapeLiteral(value: string): string {
  const doubled = value.replaceAll("'", "''")
  // A backslash is literal in a standard string; the E'' form makes that independent of the
  // server's standard_conforming_strings.
  return value.includes('\\') ? ` E'${doubled.replaceAll('\\', '\\\\')}'` : `'${doubled}'`
}

/** What a parameter goes to the server as: text, a Buffer, or null. */
type WireValue = string | Buffer | null

interface ToPostgres {
  toPostgres(prepare: (value: unknown) => unknown): unknown
}

/**
 * A parameter as pg's JavaScript client sends it (pg's `prepareValue`, which is not reachable
 * the same way on every pg in the peer range): null for `null`/`undefined`, Buffers and typed
 * arrays as bytes, dates as ISO text (UTC when `pg.defaults.parseInputDatesAsUTC`), arrays as
 * array literals, objects by `toPostgres()` or as JSON, anything else by `toString()`.
 *
 * @example
 * prepareValue([1, null, 'a"b']) // '{"1",NULL,"a\\"b"}'
 */
export function prepareValue(value: unknown, seen: object[] = []): WireValue {
  if (value === null || value === undefined) return null
  if (typeof value !== 'object') return String(value)
  if (Buffer.isBuffer(value)) return value
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (value instanceof Date) return utcDates() ? dateText(value, 0) : dateText(value, -value.getTimezoneOffset())
  if (Array.isArray(value)) return arrayLiteral(value)
  if (typeof (value as Partial<ToPostgres>).toPostgres === 'function') {
    if (seen.includes(value)) throw new Error(`circular reference detected while preparing "${value}" for query`)
    return prepareValue(
      (value as ToPostgres).toPostgres((inner) => prepareValue(inner)),
      [...seen, value],
    )
  }
  return JSON.stringify(value)
}

const utcDates = () => (pg as { defaults?: { parseInputDatesAsUTC?: boolean } }).defaults?.parseInputDatesAsUTC === true

function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((item) => {
    if (item === null || item === undefined) return 'NULL'
    if (Array.isArray(item)) return arrayLiteral(item)
    if (ArrayBuffer.isView(item))
      return `\\\\x${Buffer.from(item.buffer, item.byteOffset, item.byteLength).toString('hex')}`
    const text = String(prepareValue(item))
    return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
  })
  return `{${items.join(',')}}`
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** `date` at `offset` minutes east of UTC, as pg writes it (years before 1 as BC). */
function dateText(date: Date, offset: number): string {
  const at = new Date(date.getTime() + offset * 60_000)
  let year = at.getUTCFullYear()
  const bc = year < 1
  if (bc) year = Math.abs(year) + 1
  const zone = `${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`
  return `${pad(year, 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}.${pad(at.getUTCMilliseconds(), 3)}${zone}${bc ? ' BC' : ''}`
}
