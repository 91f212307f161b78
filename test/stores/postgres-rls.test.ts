import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy, type Tenant } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

/** The host's own DDL: `notes` keys its rows per tenant; `tags` has no tenant_id until tenantry adds it. */
function hostMigrations(role: string, notes: string) {
  return [
    `create table ${notes} (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))`,
    `create table ${notes}_tags (name text not null)`,
    // A view the tenants may read: it runs as its owner, who is held to the policies too (forced).
    `create view ${notes}_view as select id, body from ${notes}`,
    `grant select on ${notes}_view to ${role}`,
  ]
}

/** The two ways a pool can send a tenant's statement: one message at a time, or pipelined. */
const POOLS = ['one message at a time', 'pipelined'] as const
const poolOf = (mode: (typeof POOLS)[number]) => (mode === 'pipelined' ? database.pipelinedPool : database.pool)

async function setUp(pool = database.pool, more: (notes: string) => string[] = () => []) {
  const role = database.tenantRole
  const schema = database.fresh()
  const notes = `notes_${schema.slice(-12)}`
  const options = {
    schema,
    strategy: 'rls',
    migrations: [...hostMigrations(role, notes), ...more(notes)],
    tables: [notes, `${notes}_tags`],
  } as const
  const store = postgresStore({ pool, ...options })
  const tenancy = createTenancy({ auth: TEST_AUTH, store })
  await tenancy.migrate()
  const tenant = async (name: string) => {
    await tenancy.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
    return tenancy.tenant({ name })
  }
  /** The same store over another pool: the tenant `id` as that store serves it. */
  const over = (other: pg.Pool, id: string) =>
    createTenancy({ auth: TEST_AUTH, store: postgresStore({ pool: other, ...options }) }).tenant({ id })
  return { tenancy, store, notes, role, tenant, over }
}

const bodies = async (tenant: Tenant, notes: string) =>
  (await tenant.query<{ body: string }>(`select body from ${notes} order by id`)).rows.map((row) => row.body)

describe("the PostgreSQL store's 'rls' strategy", () => {
  it('gives each tenant its own rows of the shared tables, read, written, changed and deleted through SQL', async () => {
    const { tenant, notes } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await acme.query(`insert into ${notes} (id, body) values (1, 'acme plans'), (2, 'acme budget')`)
    await globex.query(`insert into ${notes} (id, body) values (1, 'globex plans')`)
    expect(await bodies(acme, notes)).toEqual(['acme plans', 'acme budget'])
    expect(await bodies(globex, notes)).toEqual(['globex plans'])
    expect((await acme.query(`update ${notes} set body = upper(body)`)).rowCount).toBe(2)
    expect((await globex.query(`delete from ${notes}`)).rowCount).toBe(1)
    expect(await bodies(acme, notes)).toEqual(['ACME PLANS', 'ACME BUDGET'])
    // The column tenantry added to a table that had none is filled in by the tenant's setting.
    await acme.query(`insert into ${notes}_tags (name) values ('urgent')`)
    expect((await acme.query(`select name from ${notes}_tags`)).rows).toEqual([{ name: 'urgent' }])
    expect((await globex.query(`select name from ${notes}_tags`)).rows).toEqual([])
  })

  it('commits a transaction whole, rolls it back whole when it throws, and refuses one whose failed statement was swallowed', async () => {
    const { tenant, notes } = await setUp()
    const acme = await tenant('Acme')
    await expect(
      acme.transaction(async (client) => {
        await client.query(`insert into ${notes} (id, body) values (1, 'kept?')`)
        throw new Error('the host changed its mind')
      }),
    ).rejects.toThrow('the host changed its mind')
    await expect(
      acme.transaction(async (client) => {
        await client.query(`insert into ${notes} (id, body) values (2, 'kept?')`)
        await client.query('select 1 / 0').catch(() => {})
        return 'done'
      }),
    ).rejects.toThrow(/rolled back/)
    expect(await bodies(acme, notes)).toEqual([])
    expect(await acme.transaction(async (client) => (await client.query('select 41 + 1 as n')).rows[0])).toEqual({
      n: 42,
    })
  })

  it('runs tenants as a role that is neither superuser nor BYPASSRLS, may not truncate, and cannot reach tenantry’s own tables', async () => {
    const { tenant, notes, role, store } = await setUp()
    const acme = await tenant('Acme')
    const { rows } = await acme.query<{ user: string; rolsuper: boolean; rolbypassrls: boolean }>(
      'select current_user as user, rolsuper, rolbypassrls from pg_roles where rolname = current_user',
    )
    expect(rows).toEqual([{ user: role, rolsuper: false, rolbypassrls: false }])
    await expect(acme.query(`truncate ${notes}`)).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      cause: { code: '42501' },
    })
    const schema = (
      await database.pool.query<{ nspname: string }>(
        `select nspname from pg_namespace where nspname like 's\\_%' order by oid desc limit 1`,
      )
    ).rows[0]!.nspname
    for (const table of ['accounts', 'organizations', 'sessions', 'data_spaces'])
      await expect(acme.query(`select * from ${schema}.${table}`), table).rejects.toMatchObject({
        code: 'INVALID_QUERY',
        cause: { code: '42501' },
      })
    expect(await store.data.listKeys()).toEqual([acme.id])
  })

  it('refuses, at start-up, a declared table whose unique key leaves tenant_id out, naming the key', async () => {
    const store = postgresStore({
      pool: database.pool,
      schema: database.fresh(),
      strategy: 'rls',
      migrations: ['create table invoices_global (number integer primary key, body text)'],
      tables: ['invoices_global'],
    })
    await expect(store.data.migrate!()).rejects.toThrow(/invoices_global_pkey must include tenant_id/)
  })

  it('drops a deleted organization’s rows from every table and leaves the others’', async () => {
    const { tenancy, tenant, notes, store } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await acme.query(`insert into ${notes} (id, body) values (1, 'acme')`)
    await acme.query(`insert into ${notes}_tags (name) values ('acme')`)
    await globex.query(`insert into ${notes} (id, body) values (1, 'globex')`)
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'acme@x.test', password: PASSWORD })).accessToken,
    )
    await tenancy.orgs.delete(owner, 'Acme')
    const left = await database.pool.query(`select count(*)::int as n from ${notes}`)
    // The pool's role owns the table and is held to the policy too (forced): it sees nothing without a tenant.
    expect(left.rows).toEqual([{ n: 0 }])
    expect(await bodies(globex, notes)).toEqual(['globex'])
    expect(await store.data.listKeys()).toEqual([globex.id])
  })
})

describe("tenantry's row-level security policy", () => {
  it('matches no row on a warm connection, whose tenant setting a tenant transaction left empty', async () => {
    const pool = new pg.Pool({ connectionString: database.url, max: 1 })
    try {
      const { tenant, notes, over } = await setUp()
      const acme = await over(pool, (await tenant('Acme')).id)
      await acme.query(`insert into ${notes} (id, body) values (1, 'acme')`)
      // The pool's one connection ran Acme's transaction: the setting is now '' there, not NULL.
      expect((await pool.query("select current_setting('tenantry.tenant_id', true) as s")).rows).toEqual([{ s: '' }])
      await database.asSuperuser(`insert into ${notes} (tenant_id, id, body) values ('', 2, 'nobody''s')`)
      expect((await pool.query(`select body from ${notes}`)).rows).toEqual([])
      for (const insert of [
        `insert into ${notes} (id, body) values (3, 'by default')`,
        `insert into ${notes} (tenant_id, id, body) values ('', 4, 'named empty')`,
      ])
        await expect(pool.query(insert), insert).rejects.toMatchObject({ code: '42501' })
      expect(await bodies(acme, notes)).toEqual(['acme'])
    } finally {
      await pool.end()
    }
  })

  it.each(POOLS)(
    'cannot be widened by a permissive policy of the host’s, %s: another tenant’s published notes stay its own',
    async (mode) => {
      const { tenant, notes } = await setUp(poolOf(mode), (n) => [
        `alter table ${n} add column published boolean not null default false`,
        `create policy published_notes on ${n} for select using (published)`,
      ])
      const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
      await attacker.query(`insert into ${notes} (id, body, published) values (2, 'attacker note', true)`)
      const read = async () => {
        const { rows } = await attacker.query(`select id, body, published from ${notes} order by id`)
        return rows
      }
      const absent = await read()
      await victim.query(`insert into ${notes} (id, body, published) values (1, 'victim secret', true)`)
      const present = await read()
      expect(present).toEqual(absent)
      expect(present).toEqual([{ id: 2, body: 'attacker note', published: true }])
      expect(await bodies(victim, notes)).toEqual(['victim secret'])
    },
  )
})

/**
 * The differential leak probe on the engine: each statement runs as tenant A twice, once with
 * B's rows in the tables and once without; A's answer (rows or error) must be the same, and
 * B's rows must come out unchanged.
 */
describe("the 'rls' strategy against a tenant's own SQL, with another tenant's rows present and absent", () => {
  const attacks: [string, (notes: string, victim: string) => string][] = [
    ['reading everything', (n) => `select * from ${n} order by id`],
    ['naming the victim’s tenant_id', (n, v) => `select * from ${n} where tenant_id = '${v}'`],
    ['updating the victim’s rows', (n, v) => `update ${n} set body = 'owned' where tenant_id = '${v}'`],
    ['deleting everything', (n) => `delete from ${n}`],
    [
      'inserting a row for the victim',
      (n, v) => `insert into ${n} (tenant_id, id, body) values ('${v}', 7, 'planted')`,
    ],
    [
      'upserting onto the victim’s key',
      (n) =>
        `insert into ${n} (id, body) values (1, 'mine') on conflict (tenant_id, id) do update set body = 'changed' returning *`,
    ],
    [
      'inserting the primary key the victim holds',
      (n) => `insert into ${n} (id, body) values (1, 'same key') returning id`,
    ],
    ['reading through a view', (n) => `select * from ${n}_view order by id`],
    [
      'joining a set-returning function',
      (n) => `select g, body from generate_series(1, 3) g left join ${n} on ${n}.id = g order by g`,
    ],
    ['unnesting an array of the table', (n) => `select * from unnest(array(select body from ${n})) as b`],
    [
      'an error oracle on the victim’s secret',
      (n) => `select 1 / (case when exists (select 1 from ${n} where body = 'victim secret') then 0 else 1 end) as x`,
    ],
    [
      'an error oracle in a filter',
      (n) => `select id from ${n} where 1 / (case when body = 'victim secret' then 0 else 1 end) = 1`,
    ],
    ['counting by tenant', (n) => `select tenant_id, count(*)::int from ${n} group by tenant_id`],
    ['planner statistics', (n) => `select most_common_vals::text from pg_stats where tablename = '${n}'`],
    ['truncating', (n) => `truncate ${n}`],
    ['copying the table out', (n) => `copy ${n} to stdout`],
  ]

  for (const [name, attack] of attacks)
    it.each(POOLS)(`answers alike and leaves the victim whole, %s: ${name}`, async (mode) => {
      const { tenant, notes } = await setUp(poolOf(mode))
      const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
      const outcome = async (victimPresent: boolean) => {
        // Both runs start from the same rows: the attacker's always, the victim's only in one.
        await attacker.query(`delete from ${notes}`)
        await victim.query(`delete from ${notes}`)
        await attacker.query(`insert into ${notes} (id, body) values (2, 'attacker note')`)
        if (victimPresent)
          await victim.query(`insert into ${notes} (id, body) values (1, 'victim secret'), (3, 'victim plans')`)
        await database.pool.query(`analyze ${notes}`)
        const answer = await attacker
          .query(attack(notes, victim.id))
          .then(({ rows, rowCount }) => ({
            rows: JSON.parse(JSON.stringify(rows).replaceAll(attacker.id, 'A')),
            rowCount,
          }))
          .catch((err: { code?: string; message: string }) => ({ error: err.code, message: err.message }))
        return { answer, victimRows: await bodies(victim, notes), attackerRows: await bodies(attacker, notes) }
      }
      const absent = await outcome(false)
      const present = await outcome(true)
      expect(present.answer).toEqual(absent.answer)
      expect(present.attackerRows).toEqual(absent.attackerRows)
      expect(present.victimRows).toEqual(['victim secret', 'victim plans'])
      expect(JSON.stringify(present.answer)).not.toMatch(/victim|planted|owned/)
    })
})

describe('what stays the host’s power inside a tenant transaction', () => {
  it('lets host code that sets the tenant setting or the role reach other tenants: untrusted input must never reach these', async () => {
    const { tenant, notes } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await globex.query(`insert into ${notes} (id, body) values (1, 'globex')`)
    // set_config: the host's code names another tenant, and the policy follows the setting.
    const switched = await acme.transaction(async (client) => {
      await client.query("select set_config('tenantry.tenant_id', $1, true)", [globex.id])
      return (await client.query(`select body from ${notes}`)).rows
    })
    expect(switched).toEqual([{ body: 'globex' }])
    // RESET ROLE: back to the pool's own role, which owns the table but is held to the forced policy.
    const reset = await acme.transaction(async (client) => {
      await client.query('reset role')
      return (await client.query(`select body from ${notes}`)).rows
    })
    expect(reset).toEqual([])
    // SET ROLE to a role the pool's role may not become is refused by the server.
    await expect(acme.query('set role postgres')).rejects.toMatchObject({
      code: 'INVALID_QUERY',
      cause: { code: '42501' },
    })
  })
})

describe('a tenant statement on a pool made with pipeline: true', () => {
  it('commits nothing of a statement that fails, and hands the connection on ready for the next', async () => {
    const { tenant, notes } = await setUp(database.pipelinedPool)
    const acme = await tenant('Acme')
    await expect(
      acme.query(
        `with added as (insert into ${notes} (id, body) values (1, 'half') returning id) select 1 / 0 from added`,
      ),
    ).rejects.toMatchObject({ code: 'INVALID_QUERY', cause: { code: '22012' } })
    expect(await bodies(acme, notes)).toEqual([])
    await acme.query(`insert into ${notes} (id, body) values ($1, $2)`, [1, "it's whole"])
    expect(await bodies(acme, notes)).toEqual(["it's whole"])
  })

  it('never hands the next caller a connection whose session a statement changed', async () => {
    const { tenant, notes } = await setUp(database.pipelinedPool)
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await globex.query(`insert into ${notes} (id, body) values (1, 'globex')`)
    const sessions = async () =>
      (
        await Promise.all(
          Array.from({ length: 8 }, () =>
            database.pipelinedPool.query(
              "select coalesce(current_setting('tenantry.tenant_id', true), '') as tenant, current_user = session_user as own_role, current_setting('search_path') as path",
            ),
          ),
        )
      ).map((session) => session.rows[0])
    const fresh = await sessions()
    for (const change of [
      ["select set_config('tenantry.tenant_id', $1, false)", [globex.id]],
      ["select set_config('search_path', 'pg_catalog', false)", []],
      [
        "select set_config('role', $1, false)",
        [(await acme.query<{ u: string }>('select current_user as u')).rows[0]!.u],
      ],
    ] as const) {
      await acme.query(change[0], [...change[1]])
      expect(await sessions(), change[0]).toEqual(fresh)
    }
    expect(fresh[0]).toMatchObject({ tenant: '', own_role: true })
    expect((await database.pipelinedPool.query(`select count(*)::int as n from ${notes}`)).rows).toEqual([{ n: 0 }])
  })
})
