import type { Pool } from 'pg'
import { MigrationRequiredError } from '../../errors.js'
import {
  type Applied,
  applyLedger,
  compareLedger,
  ensureLedger,
  type Ledger,
  planMigrations,
  readLedger,
} from './postgres-ledger.js'
import { run } from './postgres-scope.js'
import { assertLoginRoleContained } from './postgres-roles.js'
import { ensureSchema, identifier, lockedTransaction } from './postgres-setup.js'

/**
 * The record store's schema, one named entry per version, applied in order and never edited
 * once released: a change is a new entry (an edited one is refused by its checksum). Every query
 * the store makes is served by one of these indexes (test/stores/postgres-indexes.test.ts checks
 * each with EXPLAIN).
 */
const RECORD_MIGRATIONS = planMigrations([
  {
    name: 'records',
    sql: `create table organizations (
     id text primary key,
     name text not null,
     name_key text not null constraint organizations_name_key_unique unique,
     -- null only on records written before slugs existed, until tenancy.migrate() gives them one
     slug text constraint organizations_slug_unique unique,
     data_key text not null,
     owner_id text not null,
     state text not null check (state in ('provisioning', 'active', 'suspended', 'deleting')),
     state_changed_at timestamptz not null,
     metadata jsonb,
     created_at timestamptz not null,
     updated_at timestamptz not null
   );
   create table accounts (
     id text primary key,
     email text constraint accounts_email_unique unique,
     password_hash text,
     subject text constraint accounts_subject_unique unique,
     token_version integer not null,
     created_at timestamptz not null,
     updated_at timestamptz not null
   );
   create table memberships (
     id text primary key,
     account_id text not null,
     organization_id text not null,
     role text not null,
     created_at timestamptz not null,
     updated_at timestamptz not null,
     constraint memberships_account_organization_unique unique (account_id, organization_id)
   );
   create index memberships_by_organization on memberships (organization_id, id);
   create table invitations (
     id text primary key,
     organization_id text not null,
     email text not null,
     role text not null,
     token_hash text not null constraint invitations_token_hash_unique unique,
     invited_by text not null,
     created_at timestamptz not null,
     expires_at timestamptz not null,
     constraint invitations_organization_email_unique unique (organization_id, email)
   );
   create index invitations_by_organization on invitations (organization_id, created_at, id);
   create table sessions (
     id text primary key,
     account_id text not null,
     organization_id text not null,
     membership_id text not null,
     token_version integer not null,
     created_at timestamptz not null,
     expires_at timestamptz not null
   );
   create index sessions_by_account on sessions (account_id);
   create index sessions_by_organization on sessions (organization_id);
   create index sessions_by_membership on sessions (membership_id);
   create index sessions_by_expiry on sessions (expires_at);
   create table refresh_tokens (
     hash text primary key,
     session_id text not null,
     created_at timestamptz not null,
     expires_at timestamptz not null,
     used_at timestamptz,
     retry_until timestamptz
   );
   create index refresh_tokens_by_session on refresh_tokens (session_id);
   create index refresh_tokens_by_expiry on refresh_tokens (expires_at);
   create table domains (
     domain text primary key,
     organization_id text not null,
     created_at timestamptz not null
   );
   create index domains_by_organization on domains (organization_id, domain);
   create table audit_events (
     id text primary key,
     type text not null,
     organization_id text,
     account_id text,
     client_address text,
     at timestamptz not null,
     details jsonb not null
   );
   create index audit_events_by_organization on audit_events (organization_id, at desc, id desc);`,
  },
])

/** The advisory lock every set-up of tenantry's schema takes: records and data plane alike. */
export const setUpLock = (schema: string) => `tenantry:${schema}`

const ledgerOf = (schema: string): Ledger => ({ table: `${identifier(schema)}.migrations`, owner: "tenantry's" })

/**
 * Brings the schema to the newest version. Concurrent starts (several instances at once) are
 * serialized by a transaction-scoped advisory lock keyed by the schema's name; each version is
 * applied in the same transaction that records it, so a crash leaves a version applied or not.
 * A schema already at the newest version takes no lock beyond that advisory one.
 */
export async function migrateRecords(pool: Pool, schema: string): Promise<void> {
  await lockedTransaction(pool, setUpLock(schema), async (client) => {
    await assertLoginRoleContained(client)
    await ensureSchema(client, schema)
    await ensureLedger(client, ledgerOf(schema))
    const { rows } = await client.query<{ path: string }>("select current_setting('search_path') as path")
    await client.query(`select set_config('search_path', $1, true)`, [identifier(schema)])
    const unknown = await applyLedger(client, ledgerOf(schema), RECORD_MIGRATIONS)
    await client.query(`select set_config('search_path', $1, true)`, [rows[0]!.path])
    if (unknown > 0) throw newerThanThis(schema)
  })
}

/**
 * The request-time check: one read of the ledger, on the connection the operation holds (its
 * record transaction's, when it is in one). `MigrationRequiredError` when the schema is missing,
 * behind, recorded before checksums, changed, or newer than this tenantry.
 */
export async function checkRecords(pool: Pool, schema: string): Promise<void> {
  const ledger = ledgerOf(schema)
  const applied = await readLedger((text, values) => run<Applied>(pool, text, values), ledger).catch(
    rethrowMissing(schema),
  )
  const { pending, unknown, unadopted } = compareLedger(applied, RECORD_MIGRATIONS, ledger)
  if (unknown > 0) throw newerThanThis(schema)
  if (pending.length > 0 || unadopted) throw notMigrated(schema)
}

/** The error of a request that came before `tenancy.migrate()`. */
export const notMigrated = (schema: string) =>
  new MigrationRequiredError(
    `tenantry: the ${schema} schema is not migrated for this version: run tenancy.migrate() at deploy, before serving requests`,
  )

const newerThanThis = (schema: string) =>
  new MigrationRequiredError(
    `tenantry: the ${schema} schema holds record migrations this tenantry does not know (a newer version migrated it): upgrade tenantry`,
  )

/** A missing schema, table or column (a database from before the ledger had checksums) → `notMigrated`. */
export const rethrowMissing =
  (schema: string) =>
  (err: unknown): never => {
    const code = (err as { code?: string }).code
    if (code === '42P01' || code === '3F000' || code === '42703') throw notMigrated(schema)
    throw err
  }
