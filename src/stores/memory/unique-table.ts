type Row = Record<string, unknown>

/**
 * Records by id with one unique field, as a database table with a unique index. Every method
 * checks and writes in one synchronous step, so concurrent callers cannot both claim a key, and
 * records are copied in and out so no caller holds a reference into the table.
 *
 * Records are flat (strings, numbers, Dates). Dates are kept as epoch milliseconds: with 100 000
 * organizations that is 600 000 fewer objects for every garbage collection to walk.
 */
export class UniqueTable<TRecord extends { id: string }, TKey extends keyof TRecord & string> {
  readonly #rows = new Map<string, Row>()
  readonly #idByKey = new Map<unknown, string>()
  readonly #key: TKey
  readonly #dateFields: readonly string[]
  readonly #conflict: () => Error

  constructor(options: { key: TKey; dateFields: readonly (keyof TRecord & string)[]; conflict: () => Error }) {
    this.#key = options.key
    this.#dateFields = options.dateFields
    this.#conflict = options.conflict
  }

  find(query: { id: string } | Record<TKey, TRecord[TKey]>): TRecord | null {
    const id = 'id' in query ? query.id : this.#idByKey.get(query[this.#key])
    const row = id === undefined ? undefined : this.#rows.get(id)
    return row ? this.#unpack(row) : null
  }

  insert(record: TRecord): void {
    if (this.#idByKey.has(record[this.#key])) throw this.#conflict()
    this.#rows.set(record.id, this.#pack(record))
    this.#idByKey.set(record[this.#key], record.id)
  }

  update(id: string, patch: Partial<TRecord>): TRecord | null {
    const row = this.#rows.get(id)
    if (!row) return null
    const key = patch[this.#key]
    if (key !== undefined && key !== row[this.#key]) {
      if (this.#idByKey.has(key)) throw this.#conflict()
      this.#idByKey.delete(row[this.#key])
      this.#idByKey.set(key, id)
    }
    const updated = { ...row, ...this.#pack(patch) }
    this.#rows.set(id, updated)
    return this.#unpack(updated)
  }

  delete(id: string): void {
    const row = this.#rows.get(id)
    if (!row) return
    this.#rows.delete(id)
    this.#idByKey.delete(row[this.#key])
  }

  /** Scans the whole table: O(rows), which deleting one organization's admins can afford. */
  deleteWhere(matches: (record: TRecord) => boolean): void {
    for (const [id, row] of this.#rows) {
      if (!matches(row as TRecord)) continue
      this.#rows.delete(id)
      this.#idByKey.delete(row[this.#key])
    }
  }

  /** Every record with an id after `afterId`, in id order; a snapshot, so writes during the walk are safe. */
  *listAfter(afterId: string | undefined): Generator<TRecord> {
    const ids = [...this.#rows.keys()].filter((id) => afterId === undefined || id > afterId).sort()
    for (const id of ids) {
      const row = this.#rows.get(id)
      if (row) yield this.#unpack(row)
    }
  }

  #pack(record: Partial<TRecord>): Row {
    const row: Row = { ...record }
    for (const field of this.#dateFields) {
      const value = row[field]
      if (value instanceof Date) row[field] = value.getTime()
    }
    return row
  }

  #unpack(row: Row): TRecord {
    const record: Row = { ...row }
    for (const field of this.#dateFields) {
      const value = record[field]
      if (typeof value === 'number') record[field] = new Date(value)
    }
    return record as TRecord
  }
}
