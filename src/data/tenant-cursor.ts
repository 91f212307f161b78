import { InvalidQueryError } from '../errors.js'
import type { Document, FindOptions, Projection, Sort, TenantCursor, TenantFindCursor } from './collection-types.js'

/** A store's cursor: the driver's `FindCursor` / `AggregationCursor`, or the in-memory store's. */
export interface CursorLike<T> extends AsyncIterable<T> {
  toArray(): Promise<T[]>
}

type Transform<T, R> = (document: T) => R
type Translate = (err: unknown) => unknown

/**
 * The cursor a tenant gets: the store's cursor opened on first read, with the driver's
 * stepping methods and nothing that reaches past it (`filter()`, `addCursorFlag()`, ...).
 */
export class ScopedCursor<T> implements TenantCursor<T> {
  readonly #open: () => CursorLike<unknown>
  readonly #transform: Transform<unknown, T>
  readonly #translate: Translate | undefined
  #iterator: AsyncIterator<unknown> | undefined
  #peeked: IteratorResult<unknown> | undefined
  #closed = false

  constructor(open: () => CursorLike<unknown>, transform: Transform<unknown, T>, translate?: Translate) {
    this.#open = open
    this.#transform = transform
    this.#translate = translate
  }

  protected get started(): boolean {
    return this.#iterator !== undefined || this.#closed
  }

  async toArray(): Promise<T[]> {
    if (!this.started) {
      this.#closed = true
      return (await this.#guard(() => this.#open().toArray())).map(this.#transform)
    }
    const documents: T[] = []
    for (let document = await this.next(); document !== null; document = await this.next()) documents.push(document)
    return documents
  }

  async next(): Promise<T | null> {
    const step = await this.#step()
    this.#peeked = undefined
    return step.done ? null : this.#transform(step.value)
  }

  async hasNext(): Promise<boolean> {
    return !(await this.#step()).done
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#peeked = { done: true, value: undefined }
    await this.#iterator?.return?.()
  }

  map<R>(transform: (document: T) => R): TenantCursor<R> {
    if (this.started) throw new InvalidQueryError('map() must come before the cursor is read')
    const inner = this.#transform
    return new ScopedCursor(this.#open, (document) => transform(inner(document)), this.#translate)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let document = await this.next(); document !== null; document = await this.next()) yield document
  }

  async #step(): Promise<IteratorResult<unknown>> {
    if (this.#peeked) return this.#peeked
    if (this.#closed && !this.#iterator) return { done: true, value: undefined }
    this.#iterator ??= this.#open()[Symbol.asyncIterator]()
    const iterator = this.#iterator
    this.#peeked = await this.#guard(() => iterator.next())
    return this.#peeked
  }

  async #guard<R>(call: () => Promise<R>): Promise<R> {
    try {
      return await call()
    } catch (err) {
      throw this.#translate ? this.#translate(err) : err
    }
  }
}

/**
 * A `find` cursor: the driver's chainable options. Like the driver's, it does nothing until it
 * is read, so a bad option (`skip(NaN)` from a query string) rejects the read, where the host's
 * `await` catches it, instead of throwing where the cursor is built.
 */
export class ScopedFindCursor<T> extends ScopedCursor<T> implements TenantFindCursor<T> {
  readonly #reopen: (options: unknown) => CursorLike<unknown>
  readonly #options: unknown
  readonly #strip: Transform<unknown, T>
  readonly #translator: Translate | undefined

  constructor(
    open: (options: unknown) => CursorLike<unknown>,
    options: unknown,
    strip: Transform<unknown, T>,
    translate?: Translate,
  ) {
    super(() => open(options), strip, translate)
    this.#reopen = open
    this.#options = options
    this.#strip = strip
    this.#translator = translate
  }

  sort(sort: Sort): TenantFindCursor<T> {
    return this.#with({ sort })
  }

  skip(count: number): TenantFindCursor<T> {
    return this.#with({ skip: count })
  }

  limit(count: number): TenantFindCursor<T> {
    return this.#with({ limit: count })
  }

  project<P extends Document = Document>(projection: Projection): TenantFindCursor<P> {
    return this.#with({ projection }) as unknown as TenantFindCursor<P>
  }

  #with(options: FindOptions): TenantFindCursor<T> {
    if (this.started) throw new InvalidQueryError('a cursor’s options must be set before it is read')
    // Options that are not an object stay as they are, for the read to refuse.
    const merged =
      this.#options === undefined || (typeof this.#options === 'object' && this.#options !== null)
        ? { ...this.#options, ...options }
        : this.#options
    return new ScopedFindCursor<T>(this.#reopen, merged, this.#strip, this.#translator)
  }
}
