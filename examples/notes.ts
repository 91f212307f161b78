import type { Tenant } from 'tenantry'

/** A note as the examples' routes answer it. */
interface Note {
  id: unknown
  text: string
}

/**
 * The examples' notes, the one place that knows how the store keeps them: a collection on the
 * memory and MongoDB stores, a table on PostgreSQL. Either way only `tenant`'s notes.
 */
export interface Notes {
  add(tenant: Tenant, text: string): Promise<Note>
  list(tenant: Tenant): Promise<Note[]>
}

export const collectionNotes: Notes = {
  async add(tenant, text) {
    const { insertedId } = await tenant.collection('notes').insertOne({ text, createdAt: new Date() })
    return { id: insertedId, text }
  },
  async list(tenant) {
    const found = await tenant
      .collection('notes')
      .find({}, { sort: { createdAt: 1 } })
      .toArray()
    return found.map((note) => ({ id: note._id, text: String(note.text) }))
  },
}

/**
 * The table the PostgreSQL examples keep notes in; `tenant_id` is filled in by the tenant's transaction.
 * A random id, not an identity: one sequence shared by every tenant would count the others' inserts.
 */
export const NOTES_TABLE = `create table notes (
  tenant_id text not null,
  id uuid not null default gen_random_uuid(),
  text text not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
)`

/** The same table in a tenant's own schema ('schema' strategy): no tenant_id needed. */
export const NOTES_TABLE_PER_TENANT = `create table notes (
  id bigint generated always as identity primary key,
  text text not null,
  created_at timestamptz not null default now()
)`

export const sqlNotes: Notes = {
  async add(tenant, text) {
    const { rows } = await tenant.query<{ id: string }>('insert into notes (text) values ($1) returning id::text', [
      text,
    ])
    return { id: rows[0]!.id, text }
  },
  async list(tenant) {
    const { rows } = await tenant.query<{ id: string; text: string }>(
      'select id::text, text from notes order by created_at, id',
    )
    return rows
  },
}
