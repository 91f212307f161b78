type Row = Record<string, unknown>

/**
 * Records by id with unique fields, as a database table with unique indexes. Every method
 * checks and writes in one synchronous step, so concurrent callers cannot both claim a key, and
 * records are copied in and out so no caller holds a reference into the table.
 *
 * Records are flat (strings, numbers, Dates). Dates are kept as epoch milliseconds: with 100 000
 * organizations that is 600 000 fewer objects for every garbage collection to walk.
 */
export class UniqueTable<TRecord extends { id: string }, TKey extends keyof TRecord & string> {
  readonly #rows = new Map<string, Row>()
  /** One index per unique field: value → id. A record without the field (undefined or null) is not indexed. */
  readonly #indexes: Map<TKey, Map<unknown, string>>
  readonly #unique: Record<TKey, () => Error>
  readonly #dateFields: readonly string[]

  constructor(options: { unique: Record<TKey, () => Error>; dateFields: readonly (keyof TRecord & string)[] }) {
    this.#unique = options.unique
    this.#indexes = new Map(Object.keys(options.unique).map((key) => [key as TKey, new Map()]))
    this.#dateFields = options.dateFields
  }

  find(query: { id: string } | Partial<Pick<TRecord, TKey>>): TRecord | null {
    let id: string | undefined
    if ('id' in query) id = query.id
    else {
      const [key, value] = Object.entries(query)[0] as [TKey, unknown]
      id = value == null ? undefined : this.#indexes.get(key)?.get(value)
    }
    const row = id === undefined ? undefined : this.#rows.get(id)
    return row ? this.#unpack(row) : null
  }

  /** Throws the key's conflict error when a unique value is taken, or `idConflict` when the id is. */
  insert(record: TRecord, idConflict?: () => Error): void {
    if (this.#rows.has(record.id)) throw (idConflict ?? (() => new Error(`id ${record.id} exists`)))()
    for (const [key, index] of this.#indexes)
      if (record[key] != null && index.has(record[key])) throw this.#unique[key]()
    this.#rows.set(record.id, this.#pack(record))
    for (const [key, index] of this.#indexes) if (record[key] != null) index.set(record[key], record.id)
  }

  update(id: string, patch: Partial<TRecord>): TRecord | null {
    const row = this.#rows.get(id)
    if (!row) return null
    const moved: TKey[] = []
    for (const [key, index] of this.#indexes) {
      const value = patch[key]
      if (value === undefined || value === row[key]) continue
      if (value !== null && index.has(value)) throw this.#unique[key]()
      moved.push(key)
    }
    for (const key of moved) {
      const index = this.#indexes.get(key)!
      if (row[key] != null) index.delete(row[key])
      if (patch[key] != null) index.set(patch[key], id)
    }
    const updated = { ...row, ...this.#pack(patch) }
    this.#rows.set(id, updated)
    return this.#unpack(updated)
  }

  delete(id: string): void {
    const row = this.#rows.get(id)
    if (!row) return
    this.#rows.delete(id)
    this.#unindex(row)
  }

  /** Scans the whole table: O(rows), which deleting one organization's admins can afford. */
  deleteWhere(matches: (record: TRecord) => boolean): void {
    for (const [id, row] of this.#rows) {
      if (!matches(row as TRecord)) continue
      this.#rows.delete(id)
      this.#unindex(row)
    }
  }

  /** Every record that matches, unpacked. O(rows). */
  filter(matches: (record: TRecord) => boolean): TRecord[] {
    const found: TRecord[] = []
    for (const row of this.#rows.values()) if (matches(row as TRecord)) found.push(this.#unpack(row))
    return found
  }

  /** Every record with an id after `afterId`, in id order; a snapshot, so writes during the walk are safe. */
  *listAfter(afterId: string | undefined): Generator<TRecord> {
    const ids = [...this.#rows.keys()].filter((id) => afterId === undefined || id > afterId).sort()
    for (const id of ids) {
      const row = this.#rows.get(id)
      if (row) yield this.#unpack(row)
    }
  }

  #unindex(row: Row): void {
    for (const [key, index] of this.#indexes) if (row[key] != null) index.delete(row[key])
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
