import type { Pool, PoolClient } from 'pg'
import { assertLoginRoleContained } from './postgres-roles.js'
import { identifier, lockedTransaction } from './postgres-setup.js'

/**
 * The record store's schema, one entry per version, applied in order and never edited once
 * released: a change is a new entry. Every query the store makes is served by one of these
 * indexes (test/stores/postgres-indexes.test.ts checks each with EXPLAIN).
 */
const RECORD_MIGRATIONS: readonly string[] = [
  `create table organizations (
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
]

/**
 * Brings the schema to the newest version. Concurrent starts (several instances at once) are
 * serialized by a transaction-scoped advisory lock keyed by the schema's name; each version is
 * applied in the same transaction that records it, so a crash leaves a version applied or not.
 */
export async function migrateRecords(pool: Pool, schema: string): Promise<void> {
  await lockedTransaction(pool, `tenantry:${schema}`, async (client) => {
    await assertLoginRoleContained(client)
    await client.query(`create schema if not exists ${identifier(schema)}`)
    await client.query(
      `create table if not exists ${identifier(schema)}.migrations (version integer primary key, applied_at timestamptz not null default now())`,
    )
    const { rows } = await client.query<{ version: number }>(
      `select coalesce(max(version), 0) as version from ${identifier(schema)}.migrations`,
    )
    await applyFrom(client, schema, rows[0]!.version)
  })
}

async function applyFrom(client: PoolClient, schema: string, current: number): Promise<void> {
  if (current > RECORD_MIGRATIONS.length)
    throw new Error(
      `tenantry: the ${schema} schema is at version ${current}, newer than this tenantry (${RECORD_MIGRATIONS.length}): upgrade tenantry`,
    )
  await client.query(`set local search_path to ${identifier(schema)}`)
  for (let version = current + 1; version <= RECORD_MIGRATIONS.length; version++) {
    await client.query(RECORD_MIGRATIONS[version - 1]!)
    await client.query('insert into migrations (version) values ($1)', [version])
  }
}
