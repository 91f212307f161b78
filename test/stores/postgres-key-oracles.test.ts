import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy, type Tenant } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import type { SqlClient } from 'tenantry/store'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

/** A fresh 'rls' store over `tables`, made by `migrations` (`{t}` is a name unique to the store). */
function rlsStore(migrations: string[], tables: string[], role = database.role()) {
  const t = `t_${database.fresh().slice(-12)}`
  const fill = (text: string) => text.replaceAll('{t}', t)
  const store = postgresStore({
    pool: database.pool,
    schema: database.fresh(),
    strategy: 'rls',
    tenantRole: role,
    migrations: migrations.map(fill),
    tables: tables.map(fill),
  })
  const tenancy = createTenancy({ auth: TEST_AUTH, store })
  const tenant = async (name: string): Promise<Tenant> => {
    await store.records.migrate!() // the data plane is migrated by each test: that is what it checks
    await tenancy.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
    return tenancy.tenant({ name })
  }
  return { store, t, role, fill, tenant }
}

/** A superuser on the test's database: what a DBA, or a migration outside tenantry, could do. */
async function asSuperuser<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(database.url)
  url.username = 'postgres'
  const client = new pg.Client({ connectionString: url.toString() })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

describe("the 'rls' start-up check refuses, by name, a table with a key oracle", () => {
  const refusals: [string, string[], string[], RegExp][] = [
    [
      'a unique constraint with tenant_id only in INCLUDE',
      [
        'create table {t} (tenant_id text not null, id integer not null, code text not null, primary key (tenant_id, id), constraint {t}_code unique (code) include (tenant_id))',
      ],
      ['{t}'],
      /table t_\w+: unique key t_\w+_code must include tenant_id as a key column/,
    ],
    [
      'a unique index on an expression, without tenant_id',
      [
        'create table {t} (tenant_id text not null, id integer not null, email text, primary key (tenant_id, id))',
        'create unique index {t}_email on {t} (lower(email))',
      ],
      ['{t}'],
      /unique key t_\w+_email must include tenant_id/,
    ],
    [
      'a primary key without tenant_id',
      ['create table {t} (number integer primary key, body text)'],
      ['{t}'],
      /unique key t_\w+_pkey must include tenant_id/,
    ],
    [
      'an exclusion constraint without tenant_id',
      [
        'create table {t} (tenant_id text not null, room text not null, during tsrange not null, constraint {t}_overlap exclude using gist (during with &&))',
      ],
      ['{t}'],
      /exclusion constraint t_\w+_overlap must include tenant_id WITH =/,
    ],
    [
      'an exclusion constraint that compares tenant_id with another operator than =',
      [
        'create extension if not exists btree_gist',
        'create table {t} (tenant_id text not null, during tsrange not null, constraint {t}_overlap exclude using gist (tenant_id with <>, during with &&))',
      ],
      ['{t}'],
      /exclusion constraint t_\w+_overlap must include tenant_id WITH =/,
    ],
    [
      'a foreign key to a key without tenant_id (a table shared by every tenant)',
      [
        'create table {t}_codes (code text primary key)',
        'create table {t} (tenant_id text not null, id integer not null, code text constraint {t}_code_fk references {t}_codes (code), primary key (tenant_id, id))',
      ],
      ['{t}'],
      /foreign key t_\w+_code_fk must pair tenant_id with tenant_id/,
    ],
    [
      'a foreign key that pairs another column with the referenced tenant_id',
      [
        'create table {t}_codes (tenant_id text not null, code text not null, primary key (tenant_id, code))',
        'create table {t} (tenant_id text not null, owner text not null, code text not null, constraint {t}_code_fk foreign key (owner, code) references {t}_codes (tenant_id, code))',
      ],
      ['{t}_codes', '{t}'],
      /foreign key t_\w+_code_fk must pair tenant_id with tenant_id/,
    ],
    [
      'a foreign key into a tenant table from a table not declared',
      [
        'create table {t} (tenant_id text not null, id integer not null, primary key (tenant_id, id))',
        'create table {t}_log (owner text not null, note integer not null, constraint {t}_log_fk foreign key (owner, note) references {t} (tenant_id, id))',
      ],
      ['{t}'],
      /foreign key t_\w+_log_fk must pair tenant_id with tenant_id/,
    ],
    [
      'an identity column',
      [
        'create table {t} (tenant_id text not null, id bigint generated always as identity, primary key (tenant_id, id))',
      ],
      ['{t}'],
      /column id draws from a sequence every tenant shares/,
    ],
    [
      'a serial column',
      ['create table {t} (tenant_id text not null, id serial, primary key (tenant_id, id))'],
      ['{t}'],
      /column id draws from a sequence every tenant shares/,
    ],
    [
      'a default drawing from a sequence of its own',
      [
        'create sequence {t}_numbers',
        "create table {t} (tenant_id text not null, number bigint not null default nextval('{t}_numbers'), primary key (tenant_id, number))",
      ],
      ['{t}'],
      /column number draws from a sequence every tenant shares/,
    ],
  ]

  for (const [shape, migrations, tables, named] of refusals)
    it(`refuses ${shape}, naming it and the fix`, async () => {
      const { store } = rlsStore(migrations, tables)
      await expect(store.data.migrate!()).rejects.toThrow(named)
    })

  it('names every oracle of a table at once', async () => {
    const { store } = rlsStore(
      [
        'create table {t} (tenant_id text not null, id serial, code text, during tsrange, primary key (id), unique (tenant_id, code), exclude using gist (during with &&))',
      ],
      ['{t}'],
    )
    const refused = await store.data.migrate!().catch((err: Error) => err.message)
    expect(refused).toMatch(/unique key t_\w+_pkey/)
    expect(refused).toMatch(/exclusion constraint t_\w+_during_excl/)
    expect(refused).toMatch(/column id draws from a sequence/)
    expect(refused).not.toMatch(/t_\w+_tenant_id_code_key/)
  })

  it('accepts keys, exclusion constraints and foreign keys that carry tenant_id, and random ids', async () => {
    const { store, tenant, fill } = rlsStore(
      [
        'create extension if not exists btree_gist',
        'create table {t}_codes (tenant_id text not null, code text not null, primary key (tenant_id, code), unique (tenant_id, code) include (tenant_id))',
        'create table {t} (tenant_id text not null, id uuid not null default gen_random_uuid(), code text not null, during tsrange, primary key (tenant_id, id), foreign key (tenant_id, code) references {t}_codes (tenant_id, code), exclude using gist (tenant_id with =, during with &&))',
      ],
      ['{t}_codes', '{t}'],
    )
    await store.data.migrate!()
    const acme = await tenant('Acme')
    await acme.query(fill("insert into {t}_codes (code) values ('a')"))
    expect((await acme.query(fill("insert into {t} (code) values ('a')"))).rowCount).toBe(1)
  })

  it('refuses a tenant role that may use large objects, with the statement a superuser runs', async () => {
    const { store, role } = rlsStore(
      ['create table {t} (tenant_id text not null, id uuid default gen_random_uuid(), primary key (tenant_id, id))'],
      ['{t}'],
      database.uniqueRole(),
    )
    await asSuperuser(async (admin) => {
      await admin.query(`create role ${role} nologin`)
      await admin.query(`grant ${role} to ${new URL(database.url).username}`)
      await admin.query(`grant execute on function lo_create(oid), lo_get(oid) to ${role}`)
    })
    const refused = await store.data.migrate!().catch((err: Error) => err.message)
    expect(refused).toMatch(new RegExp(`tenant role ${role} may use large objects`))
    expect(refused).toContain(
      'revoke execute on function pg_catalog.lo_create(oid), pg_catalog.lo_get(oid) from public',
    )
  })
})

/** What a tenant's statement answered, compared by structure: rows and count, or error class and code. */
async function answer(tenant: Tenant, text: string, values: unknown[] = []): Promise<unknown> {
  const rolledBack = Symbol('rolled back')
  let answered: unknown
  await tenant
    .transaction(async (client: SqlClient) => {
      answered = await client.query(text, values).then(
        ({ rows, rowCount }) => ({ rows, rowCount }),
        (err: Error & { code?: string }) => ({ error: err.name, code: err.code }),
      )
      // Every attack is undone: both runs start from the same rows.
      throw rolledBack
    })
    .catch((err: unknown) => {
      if (err !== rolledBack) throw err
    })
  return answered
}

interface Attack {
  /** The accepted shape of the table(s). */
  migrations: string[]
  tables: string[]
  /** What the table's owner runs after start-up to give it the refused shape (bypassing the check). */
  flaw: string[]
  /** The victim's rows; `{t}` as above. */
  victimRows: string
  /** The victim's statement is itself refused on the accepted shape (with this SQLSTATE). */
  victimRefused?: string
  /** The attacker's statements, each answered on its own. */
  attacks: string[]
}

/**
 * Runs the attacks as the attacker with the victim's rows present, then absent (the victim
 * deletes them), from the same rows of the attacker's: the two lists of answers.
 */
async function differential(attack: Attack, flawed: boolean) {
  const { store, fill, tenant } = rlsStore(attack.migrations, attack.tables)
  await store.data.migrate!()
  for (const statement of flawed ? attack.flaw : []) await database.pool.query(fill(statement))
  const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
  const run = async () => {
    const answers: unknown[] = []
    for (const text of attack.attacks) answers.push(await answer(attacker, fill(text)))
    return answers
  }
  const seeded = await answer(victim, fill(attack.victimRows))
  if (!flawed && attack.victimRefused) expect(seeded).toMatchObject({ code: attack.victimRefused })
  else await victim.query(fill(attack.victimRows))
  const present = await run()
  for (const table of [...attack.tables].reverse()) await victim.query(fill(`delete from ${table}`))
  const absent = await run()
  return { present, absent }
}

const ATTACKS: [string, Attack][] = [
  [
    'inserting the value the victim holds under a unique key with tenant_id only in INCLUDE',
    {
      migrations: [
        'create table {t} (tenant_id text not null, id integer not null, code text not null, primary key (tenant_id, id), constraint {t}_code unique (tenant_id, code))',
      ],
      tables: ['{t}'],
      flaw: ['alter table {t} drop constraint {t}_code, add constraint {t}_code unique (code) include (tenant_id)'],
      victimRows: "insert into {t} (id, code) values (1, 'victim-code')",
      attacks: ["insert into {t} (id, code) values (2, 'victim-code')"],
    },
  ],
  [
    'booking over the victim’s range under an exclusion constraint without tenant_id',
    {
      migrations: [
        'create extension if not exists btree_gist',
        'create table {t} (tenant_id text not null, room text not null, during tsrange not null, constraint {t}_overlap exclude using gist (tenant_id with =, room with =, during with &&))',
      ],
      tables: ['{t}'],
      flaw: [
        'alter table {t} drop constraint {t}_overlap, add constraint {t}_overlap exclude using gist (room with =, during with &&)',
      ],
      victimRows: "insert into {t} (room, during) values ('board room', '[2030-01-01 10:00, 2030-01-01 11:00)')",
      attacks: ["insert into {t} (room, during) values ('board room', '[2030-01-01 10:30, 2030-01-01 10:45)')"],
    },
  ],
  [
    'ON CONFLICT on a key without tenant_id',
    {
      migrations: [
        'create table {t} (tenant_id text not null, id integer not null, code text not null, primary key (tenant_id, id), constraint {t}_code unique (tenant_id, code))',
      ],
      tables: ['{t}'],
      flaw: ['alter table {t} drop constraint {t}_code, add constraint {t}_code unique (code)'],
      victimRows: "insert into {t} (id, code) values (1, 'victim-code')",
      attacks: [
        "insert into {t} (id, code) values (2, 'victim-code') on conflict do nothing",
        "insert into {t} (id, code) values (2, 'victim-code') on conflict (code) do update set id = 2",
        "insert into {t} (id, code) values (2, 'victim-code') on conflict (tenant_id, code) do update set id = 2",
      ],
    },
  ],
  [
    'referencing the victim’s key through a foreign key whose key lacks tenant_id',
    {
      migrations: [
        'create table {t}_codes (tenant_id text not null, code text not null, primary key (tenant_id, code))',
        'create table {t} (tenant_id text not null, id integer not null, code text not null, primary key (tenant_id, id), constraint {t}_code_fk foreign key (tenant_id, code) references {t}_codes (tenant_id, code))',
      ],
      tables: ['{t}_codes', '{t}'],
      flaw: [
        'alter table {t}_codes add constraint {t}_codes_code unique (code)',
        'alter table {t} drop constraint {t}_code_fk, add constraint {t}_code_fk foreign key (code) references {t}_codes (code)',
      ],
      victimRows: "insert into {t}_codes (code) values ('victim-code')",
      attacks: ["insert into {t} (id, code) values (1, 'victim-code')"],
    },
  ],
  [
    'reading and deleting the victim’s large objects',
    {
      migrations: ['create table {t} (tenant_id text not null, id integer not null, primary key (tenant_id, id))'],
      tables: ['{t}'],
      flaw: [],
      victimRows: "select lo_from_bytea(0, 'victim secret')",
      victimRefused: '42501',
      attacks: [
        'select convert_from(lo_get(oid), $$utf8$$) as body from pg_largeobject_metadata',
        'select lo_unlink(oid) from pg_largeobject_metadata',
        "select lo_from_bytea(0, 'mine') is not null as made",
      ],
    },
  ],
]

describe("the oracles behind the start-up check, each run as a tenant with another's rows present and absent", () => {
  for (const [name, attack] of ATTACKS) {
    it(`answers alike on the accepted shape: ${name}`, async () => {
      const { present, absent } = await differential(attack, false)
      expect(present).toEqual(absent)
    })
  }

  // The same attacks on the refused shapes, made after start-up: what the check keeps out is real.
  for (const [name, attack] of ATTACKS.filter(([, attack]) => attack.flaw.length > 0)) {
    it(`answers differently on the refused shape, made after start-up: ${name}`, async () => {
      const { present, absent } = await differential(attack, true)
      expect(present).not.toEqual(absent)
    })
  }

  it('answers differently when the tenant role may use large objects (what the check refuses)', async () => {
    const [, attack] = ATTACKS.find(([name]) => name.includes('large objects'))!
    const { store, role, fill, tenant } = rlsStore(attack.migrations, attack.tables)
    await store.data.migrate!()
    await asSuperuser((admin) =>
      admin.query(`grant execute on function lo_from_bytea(oid, bytea), lo_get(oid), lo_unlink(oid) to ${role}`),
    )
    try {
      const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
      const before = await answer(attacker, fill(attack.attacks[0]!))
      await victim.query(fill(attack.victimRows))
      const after = await answer(attacker, fill(attack.attacks[0]!))
      expect(after).not.toEqual(before)
      expect(after).toEqual({ rows: [{ body: 'victim secret' }], rowCount: 1 })
    } finally {
      await asSuperuser(async (admin) => {
        await admin.query('select lo_unlink(oid) from pg_largeobject_metadata')
        await admin.query(
          `revoke execute on function lo_from_bytea(oid, bytea), lo_get(oid), lo_unlink(oid) from ${role}`,
        )
      })
    }
  })

  it('counts the victim’s inserts between two of the attacker’s on a shared identity sequence (what the check refuses)', async () => {
    const { store, fill, tenant } = rlsStore(
      [
        'create table {t} (tenant_id text not null, id uuid default gen_random_uuid(), body text, primary key (tenant_id, id))',
      ],
      ['{t}'],
    )
    await store.data.migrate!()
    // Given after start-up: identity columns need no grant on their sequence.
    await database.pool.query(fill('alter table {t} add column n bigint generated always as identity'))
    const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
    const next = async () =>
      Number((await attacker.query<{ n: string }>(fill("insert into {t} (body) values ('a') returning n"))).rows[0]!.n)
    const gap = async (victimInserts: boolean) => {
      const first = await next()
      if (victimInserts) await victim.query(fill("insert into {t} (body) values ('v')"))
      return (await next()) - first
    }
    expect(await gap(true)).not.toEqual(await gap(false))
  })
})
