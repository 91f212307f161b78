import { describe, expect, it } from 'vitest'
import type { Store } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import { describeSqlIsolation, probeSqlIsolation, type SqlIsolationOptions } from 'tenantry/testing'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

/** The host's rows: projects, and notes in a project, booked over a time range. */
const TABLES = (schema: string): SqlIsolationOptions['tables'] => [
  { name: `${schema}.projects`, row: (n) => ({ code: `P-${n}`, name: `project ${n}` }) },
  {
    name: `${schema}.notes`,
    row: (n) => ({
      project: `P-${n}`,
      body: `note ${n}`,
      during: `[2030-01-0${n} 10:00, 2030-01-0${n} 11:00)`,
    }),
  },
]

/** One store per schema for the whole file: the probe removes what it writes. */
function storeOnce(schema: string, migrations: string[], after: string[] = []) {
  let made: Promise<Store> | undefined
  return () =>
    (made ??= (async () => {
      const store = postgresStore({
        pool: database.pool,
        schema: database.fresh(),
        strategy: 'rls',
        tenantRole: database.role(),
        migrations: [`create schema ${schema}`, 'create extension if not exists btree_gist', ...migrations],
        tables: TABLES(schema).map((table) => table.name),
      })
      await store.data.migrate!()
      if (after.length === 0) return store
      // After migrate, bypassing its check: a migration run outside tenantry, and no migrate since.
      for (const statement of after) await database.pool.query(statement)
      return { ...store, data: { ...store.data, migrate: undefined } }
    })())
}

const KEYED = (s: string) => [
  `create table ${s}.projects (tenant_id text not null, code text not null, name text not null, primary key (tenant_id, code))`,
  `create table ${s}.notes (tenant_id text not null, id uuid not null default gen_random_uuid(), project text not null, body text not null, during tsrange not null,
     primary key (tenant_id, id), unique (tenant_id, body) include (during),
     constraint notes_project foreign key (tenant_id, project) references ${s}.projects (tenant_id, code),
     constraint notes_overlap exclude using gist (tenant_id with =, during with &&))`,
]

describeSqlIsolation({
  name: "a schema keyed by tenant_id ('rls')",
  create: storeOnce('good', KEYED('good')),
  tables: TABLES('good'),
})

describeSqlIsolation({
  name: "a tenant's own tables ('schema')",
  create: () =>
    postgresStore({
      pool: database.pool,
      schema: database.fresh(),
      strategy: 'schema',
      migrations: [
        'create table projects (code text primary key, name text not null)',
        'create table notes (id bigint generated always as identity primary key, project text not null references projects (code), body text not null unique, during tsrange not null)',
      ],
    }),
  tables: [
    { name: 'projects', row: (n) => ({ code: `P-${n}`, name: `project ${n}` }) },
    {
      name: 'notes',
      row: (n) => ({ project: `P-${n}`, body: `note ${n}`, during: `[2030-01-0${n} 10:00, 2030-01-0${n} 11:00)` }),
    },
  ],
})

describe('describeSqlIsolation on a schema changed after start-up to hold oracles', () => {
  const probe = async (schema: string, after: (s: string) => string[]) => {
    const options: SqlIsolationOptions = {
      name: schema,
      create: storeOnce(schema, KEYED(schema), after(schema)),
      tables: TABLES(schema),
    }
    return (await probeSqlIsolation(options, `${schema}.notes`)).map((leak) => leak.probe)
  }

  it('finds the unique key with tenant_id only in INCLUDE, through a conflict and ON CONFLICT', async () => {
    const leaks = await probe('bad_unique', (s) => [
      `alter table ${s}.notes add constraint notes_body unique (body) include (tenant_id)`,
    ])
    expect(leaks).toEqual(
      expect.arrayContaining([
        "inserting the victim's body under notes_body",
        "inserting the victim's body under notes_body, on conflict do nothing",
        "upserting the victim's body under notes_body",
      ]),
    )
  })

  it('finds the exclusion constraint without tenant_id', async () => {
    const leaks = await probe('bad_exclusion', (s) => [
      `alter table ${s}.notes add constraint notes_booked exclude using gist (during with &&)`,
    ])
    expect(leaks).toContain("inserting the victim's during under notes_booked")
  })

  it('finds the foreign key to a key without tenant_id', async () => {
    const leaks = await probe('bad_reference', (s) => [
      `alter table ${s}.projects add constraint projects_code unique (code)`,
      `alter table ${s}.notes drop constraint notes_project, add constraint notes_project foreign key (project) references ${s}.projects (code)`,
    ])
    expect(leaks).toContain("referencing the victim's project through notes_project")
  })

  it('finds the sequence every tenant shares', async () => {
    const leaks = await probe('bad_sequence', (s) => [
      `alter table ${s}.notes add column n bigint generated always as identity`,
    ])
    expect(leaks).toContain(`counting the victim's inserts through bad_sequence.notes.n`)
  })

  it('finds reads, counts and error oracles once row-level security is off', async () => {
    const leaks = await probe('bad_policy', (s) => [
      `alter table ${s}.notes no force row level security, disable row level security`,
    ])
    expect(leaks).toEqual(
      expect.arrayContaining([
        'reading bad_policy.notes',
        'counting bad_policy.notes',
        "an error oracle on the victim's bad_policy.notes.body",
        "a filter that fails on the victim's bad_policy.notes.body",
      ]),
    )
  })

  it('refuses options without tables, at once', () => {
    expect(() => describeSqlIsolation({ name: 'none', create: () => ({}) as never, tables: [] })).toThrow(TypeError)
  })
})
