import type { Document, TenantCollection } from './data/collection-types.js'
import type { SqlClient, SqlResult } from './data/sql-client.js'
import type { SqlQueryOptions, SqlTransactionOptions } from './data/sql-options.js'
import type { RegisteredCollections } from './register.js'

/**
 * The tenant types shared by the registry, the context, the organization service and the HTTP
 * layer. Types only: no module imports them for behaviour.
 */

/**
 * One organization as code acting for it sees it: `req.tenant` in Express, `ctx.state.tenant`
 * in Koa, the argument of `tenancy.run`'s callback and what `currentTenant()` returns. The same
 * shape whichever way the tenant was identified.
 */
export interface Tenant {
  /** Organization id: what a queued job should carry to find the tenant again. */
  readonly id: string
  /** Organization display name. */
  readonly name: string
  /** The organization's DNS label, as in `acme.example.com`. */
  readonly slug: string
  /**
   * One of the tenant's collections, by the name the store declares (`memoryStore({ collections
   * })`, `mongoStore({ collections })`). It reaches this tenant's documents and no one else's,
   * on every store and strategy. A name the store does not declare throws
   * `UnknownCollectionError`; with `Register['collections']` declared, it is a type error too.
   *
   * @example
   * const notes = await req.tenant.collection('notes').find({}).toArray()
   */
  collection<TName extends keyof RegisteredCollections & string>(
    name: TName,
  ): TenantCollection<RegisteredCollections[TName] extends Document ? RegisteredCollections[TName] : Document>
  /**
   * On a SQL store (`tenantry/postgres`): runs `fn` with a connection inside a transaction in
   * which the database confines every statement to this tenant; commits when `fn` resolves,
   * rolls back when it throws. On a document store, `UnsupportedQueryError`. `options` replace
   * the store's statement and idle timeouts for this transaction.
   *
   * @example
   * const notes = await req.tenant.transaction(async (client) => (await client.query('select * from notes')).rows)
   */
  transaction<TResult>(fn: (client: SqlClient) => Promise<TResult>, options?: SqlTransactionOptions): Promise<TResult>
  /**
   * One statement in its own `transaction`: `await req.tenant.query('select * from notes where id = $1', [id])`.
   * `options` replace the store's statement timeout for this statement.
   */
  query<TRow = Record<string, unknown>>(
    text: string,
    values?: unknown[],
    options?: SqlQueryOptions,
  ): Promise<SqlResult<TRow>>
  /** Set only when a tenantry access token identified the request: the membership it was issued for. */
  readonly member?: TenantMember
  /** Set only when a tenantry access token identified the request: the login session it belongs to. */
  readonly sessionId?: string
}

/** Who is calling, as a member of the tenant: `req.tenant.member`. */
interface TenantMember {
  /** The membership id (what the member routes take). */
  readonly id: string
  readonly accountId: string
  /** `owner`, `admin`, `member` or a custom role, as of this token. */
  readonly role: string
}

/** A tenant identified by a tenantry access token: the member and the session are always known. */
export interface MemberTenant extends Tenant {
  readonly member: TenantMember
  readonly sessionId: string
}

/**
 * How code names an organization to `tenancy.tenant`, `tenancy.run` and `tenantScope`'s
 * resolver: exactly one of its id, slug, name (compared as names are: ignoring case and outer
 * spaces) or one of its custom domains.
 */
export type TenantRef = { id: string } | { slug: string } | { name: string } | { domain: string }

/** The tenant type `tenantScope` attaches to a request. */
export type RegisteredTenant = Tenant
