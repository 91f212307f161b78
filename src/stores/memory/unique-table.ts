/**
 * Records by id with one unique field, as a database table with a unique index. Every method
 * checks and writes in one synchronous step, so concurrent callers cannot both claim a key, and
 * records are copied in and out so no caller holds a reference into the table.
 */
export class UniqueTable<TRecord extends { id: string }, TKey extends keyof TRecord & string> {
  readonly #rows = new Map<string, TRecord>()
  readonly #idByKey = new Map<unknown, string>()
  readonly #key: TKey
  readonly #conflict: () => Error

  constructor(key: TKey, conflict: () => Error) {
    this.#key = key
    this.#conflict = conflict
  }

  find(query: { id: string } | Record<TKey, TRecord[TKey]>): TRecord | null {
    const id = 'id' in query ? query.id : this.#idByKey.get(query[this.#key])
    const row = id === undefined ? undefined : this.#rows.get(id)
    return row ? structuredClone(row) : null
  }

  insert(record: TRecord): void {
    if (this.#idByKey.has(record[this.#key])) throw this.#conflict()
    this.#rows.set(record.id, structuredClone(record))
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
    const updated = { ...row, ...structuredClone(patch) }
    this.#rows.set(id, updated)
    return structuredClone(updated)
  }

  delete(id: string): void {
    const row = this.#rows.get(id)
    if (!row) return
    this.#rows.delete(id)
    this.#idByKey.delete(row[this.#key])
  }

  /** Scans the whole table: O(rows), which deleting one organization's admins can afford. */
  deleteWhere(matches: (row: TRecord) => boolean): void {
    for (const row of this.#rows.values()) {
      if (!matches(row)) continue
      this.#rows.delete(row.id)
      this.#idByKey.delete(row[this.#key])
    }
  }
}
