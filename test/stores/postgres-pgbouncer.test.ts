import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy, type Tenant } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'
import { startPgBouncer, usePgBouncer } from '../support/pgbouncer.js'

const database = usePostgresDatabase()
const bouncer = usePgBouncer(database)

/** Pools through a bouncer, ended before it stops. */
const pools: pg.Pool[] = []
afterAll(async () => {
  for (const pool of pools.splice(0)) await pool.end()
})
const poolThrough = (url: string) => {
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pools.push(pool)
  return pool
}

/**
 * Two tenants on 'rls', made through a direct pool (set-up, not the subject: an organization
 * create waits for a second connection, and the bouncer has one), and a store on the same schema
 * whose pool goes through the bouncer: what the tests drive.
 */
async function setUp(through: pg.Pool) {
  const role = database.role()
  const notes = `notes_${database.fresh().slice(-12)}`
  const options = {
    schema: database.fresh(),
    strategy: 'rls' as const,
    tenantRole: role,
    migrations: [
      `create table ${notes} (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))`,
    ],
    tables: [notes],
  }
  const direct = createTenancy({ auth: TEST_AUTH, store: postgresStore({ pool: database.pool, ...options }) })
  await direct.migrate()
  for (const name of ['Attacker', 'Victim'])
    await direct.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
  const store = postgresStore({ pool: through, ...options })
  const tenancy = createTenancy({ auth: TEST_AUTH, store })
  const [attacker, victim] = [await tenancy.tenant({ name: 'Attacker' }), await tenancy.tenant({ name: 'Victim' })]
  /** The rows every run starts from: the attacker's always, the victim's only when present. */
  const seed = async (victimPresent: boolean) => {
    await attacker.query(`delete from ${notes}`)
    await victim.query(`delete from ${notes}`)
    await attacker.query(`insert into ${notes} (id, body) values (2, 'attacker note')`)
    if (victimPresent)
      await victim.query(`insert into ${notes} (id, body) values (1, 'victim secret'), (3, 'victim plans')`)
  }
  return { store, notes, role, attacker, victim, seed }
}

const bodies = async (tenant: Tenant, notes: string) =>
  (await tenant.query<{ body: string }>(`select body from ${notes} order by id`)).rows.map((row) => row.body)

/** A statement's answer as data: its rows, or its error's class and code. */
const answerOf = (run: Promise<{ rows: unknown[]; rowCount: number | null }>) =>
  run.then(
    ({ rows, rowCount }) => ({ rows, rowCount }),
    (err: Error & { code?: string }) => ({ error: err.constructor.name, code: err.code }),
  )

describe('a transaction-mode PgBouncer in front of the store', () => {
  // A bouncer of this test's own: what the session leaves on its one server connection stays there.
  it('hands the next client a server session with no tenant, no tenant role and no temporary table, whatever host code left on it', async () => {
    const own = await startPgBouncer(database.url, [new URL(database.url).username])
    try {
      const through = new pg.Pool({ connectionString: own.through(database.url), max: 4 })
      try {
        const { store, notes, role, attacker, victim, seed } = await setUp(through)
        const outcome = async (victimPresent: boolean) => {
          await seed(victimPresent)
          // The victim's own transaction, whose host code sets its session, not its transaction.
          await victim.transaction(async (client) => {
            await client.query("select set_config('tenantry.tenant_id', $1, false)", [victim.id])
            await client.query(`drop table if exists pg_temp.${notes}`)
            await client.query(`create temp table ${notes} as select * from public.${notes}`)
            await client.query(`set role ${role}`)
          })
          // Unscoped host code on the next client: the pool's own role, no tenant, so no rows.
          const unscoped = await answerOf(
            through.query(
              `select coalesce(current_setting('tenantry.tenant_id', true), '') as tenant,
                      current_user = session_user as own_role,
                      (select count(*)::int from pg_class where relnamespace = pg_my_temp_schema()) as temporary,
                      (select count(*)::int from ${notes}) as visible`,
            ),
          )
          // The next tenant through tenantry: its own rows, not a temporary copy of the victim's.
          const next = await answerOf(attacker.query(`select body from ${notes} order by id`))
          // tenantry's own records, which a leftover tenant role may not read (42501).
          const record = await store.records.organizations.find({ id: victim.id }).then(
            (org) => ({ name: org?.name }),
            (err: Error & { code?: string }) => ({ error: err.constructor.name, code: err.code }),
          )
          return { unscoped, next, record }
        }
        const clean = {
          unscoped: { rows: [{ tenant: '', own_role: true, temporary: 0, visible: 0 }], rowCount: 1 },
          next: { rows: [{ body: 'attacker note' }], rowCount: 1 },
          record: { name: 'Victim' },
        }
        const absent = await outcome(false)
        const present = await outcome(true)
        expect({ absent, present }).toEqual({ absent: clean, present: clean })
      } finally {
        await through.end()
      }
    } finally {
      await own.stop()
    }
  })
})

/**
 * The basics of the differential leak probe (test/stores/postgres-rls.test.ts) through the
 * bouncer: tenant.query's one batch under one Sync, and tenant.transaction, each answering alike
 * with the victim's rows present and absent.
 */
describe("the 'rls' strategy through a transaction-mode PgBouncer, with another tenant's rows present and absent", () => {
  let through: pg.Pool
  beforeAll(() => {
    through = poolThrough(bouncer.url())
  })

  const attacks: [string, (notes: string, victim: string) => string][] = [
    ['reading everything', (n) => `select * from ${n} order by id`],
    ['naming the victim’s tenant_id', (n, v) => `select * from ${n} where tenant_id = '${v}'`],
    ['updating the victim’s rows', (n, v) => `update ${n} set body = 'owned' where tenant_id = '${v}'`],
    [
      'inserting a row for the victim',
      (n, v) => `insert into ${n} (tenant_id, id, body) values ('${v}', 7, 'planted')`,
    ],
    [
      'inserting the primary key the victim holds',
      (n) => `insert into ${n} (id, body) values (1, 'same key') returning id`,
    ],
    [
      'an error oracle on the victim’s secret',
      (n) => `select 1 / (case when exists (select 1 from ${n} where body = 'victim secret') then 0 else 1 end) as x`,
    ],
    [
      'an error oracle in a filter',
      (n) => `select id from ${n} where 1 / (case when body = 'victim secret' then 0 else 1 end) = 1`,
    ],
    ['counting by tenant', (n) => `select count(*)::int as n from ${n}`],
  ]

  for (const [name, attack] of attacks)
    it.each(['tenant.query', 'tenant.transaction'] as const)(
      `answers alike and leaves the victim whole, %s: ${name}`,
      async (way) => {
        const { notes, attacker, victim, seed } = await setUp(through)
        const outcome = async (victimPresent: boolean) => {
          await seed(victimPresent)
          const text = attack(notes, victim.id)
          const answer = await answerOf(
            way === 'tenant.query' ? attacker.query(text) : attacker.transaction((client) => client.query(text)),
          )
          return { answer, victimRows: await bodies(victim, notes), attackerRows: await bodies(attacker, notes) }
        }
        const absent = await outcome(false)
        const present = await outcome(true)
        expect(present.answer).toEqual(absent.answer)
        expect(present.attackerRows).toEqual(absent.attackerRows)
        expect(present.victimRows).toEqual(['victim secret', 'victim plans'])
      },
    )
})
