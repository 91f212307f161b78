import { describe, expect, it } from 'vitest'
import { createTenancy, type Tenant } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'
import { storeOf } from '../support/store-of.js'

const database = usePostgresDatabase()

const NOTES = 'create table notes (id integer primary key, body text not null)'
const TAGS = 'create table tags (id serial primary key, name text not null)'

async function setUp(migrations = [NOTES], pool = database.pool) {
  const schema = database.fresh()
  const tenancy = createTenancy({
    auth: TEST_AUTH,
    store: postgresStore({ pool, schema, strategy: 'schema', migrations }),
  })
  await tenancy.migrate()
  const tenant = async (name: string) => {
    await tenancy.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
    return tenancy.tenant({ name })
  }
  /** The schema (and role) a tenant's rows live in: tenantry's schema name and its data key. */
  const dataKeyOf = async (tenant: Tenant) =>
    (await storeOf(tenancy).records.organizations.find({ id: tenant.id }))!.dataKey
  const schemaOf = async (tenant: Tenant) => `${schema}_${await dataKeyOf(tenant)}`
  /** The tenant's own role: a member of the tenants' group, named after it and the data key. */
  const roleOf = async (tenant: Tenant) => `${database.tenantRole}_${await dataKeyOf(tenant)}`
  return { tenancy, schema, tenant, schemaOf, roleOf }
}

const bodies = async (tenant: Tenant) =>
  (await tenant.query<{ body: string }>('select body from notes order by id')).rows.map((row) => row.body)

const exists = async (kind: 'schema' | 'role', name: string) =>
  (
    await database.pool.query(
      kind === 'schema' ? 'select 1 from pg_namespace where nspname = $1' : 'select 1 from pg_roles where rolname = $1',
      [name],
    )
  ).rowCount === 1

describe("the PostgreSQL store's 'schema' strategy", () => {
  it('gives each tenant its own schema with the host’s tables, reached by plain names', async () => {
    const { tenant, schemaOf, roleOf } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await acme.query(`insert into notes (id, body) values (1, 'acme plans')`)
    await globex.query(`insert into notes (id, body) values (1, 'globex plans')`)
    expect(await bodies(acme)).toEqual(['acme plans'])
    expect(await bodies(globex)).toEqual(['globex plans'])
    const { rows } = await acme.query<{ schema: string; user: string }>(
      'select current_schema() as schema, current_user as user',
    )
    expect(rows).toEqual([{ schema: await schemaOf(acme), user: await roleOf(acme) }])
  })

  it('runs a new migration in every tenant’s schema when tenancy.migrate() is run, and again changes nothing', async () => {
    const first = await setUp([NOTES])
    const [acme, globex] = [await first.tenant('Acme'), await first.tenant('Globex')]
    await acme.query(`insert into notes (id, body) values (1, 'kept')`)
    // The app deploys with one more migration: a new store over the same schema.
    const upgraded = createTenancy({
      auth: TEST_AUTH,
      store: postgresStore({
        pool: database.pool,
        schema: first.schema,
        strategy: 'schema',
        migrations: [NOTES, TAGS],
      }),
    })
    expect((await upgraded.migrate()).migrated).toBe(2)
    await upgraded.migrate()
    for (const tenant of [acme, globex]) {
      const again = await upgraded.tenant({ id: tenant.id })
      await again.query(`insert into tags (name) values ('new')`)
      expect((await again.query('select name from tags')).rows).toEqual([{ name: 'new' }])
    }
    expect(await bodies(await upgraded.tenant({ id: acme.id }))).toEqual(['kept'])
  })

  it('runs tenants as their own role, which may read and write its tables but not create, truncate or reach elsewhere', async () => {
    const { tenant, schema, schemaOf } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    const refusals = [
      'create table mine (id int)',
      'truncate notes',
      'drop table notes',
      `select * from ${await schemaOf(globex)}.notes`,
      `select * from ${schema}.accounts`,
    ]
    for (const statement of refusals)
      await expect(acme.query(statement), statement).rejects.toMatchObject({
        code: 'INVALID_QUERY',
        cause: { code: '42501' },
      })
  })

  it('drops the schema and the role with the organization, and leaves the others', async () => {
    const { tenancy, tenant, schemaOf, roleOf, schema } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await acme.query(`insert into notes (id, body) values (1, 'acme')`)
    const [acmeSchema, acmeRole] = [await schemaOf(acme), await roleOf(acme)]
    const owner = await tenancy.authenticate(
      (await tenancy.auth.login({ email: 'acme@x.test', password: PASSWORD })).accessToken,
    )
    await tenancy.orgs.delete(owner, 'Acme')
    expect(await exists('schema', acmeSchema)).toBe(false)
    expect(await exists('role', acmeRole)).toBe(false)
    expect(await exists('role', await roleOf(globex))).toBe(true)
    expect(await exists('schema', await schemaOf(globex))).toBe(true)
    expect(await storeOf(tenancy).data.listKeys()).toHaveLength(1)
    expect((await database.pool.query(`select count(*)::int as n from ${schema}.schema_migrations`)).rows).toEqual([
      { n: 1 },
    ])
  })
})

describe('what stays the host’s power inside a schema tenant’s transaction', () => {
  it('lets host code that sets another tenant’s role reach its schema, and never hands that connection on', async () => {
    const { tenant, schemaOf, roleOf } = await setUp()
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    await globex.query(`insert into notes (id, body) values (1, 'globex')`)
    // The pool's role may become every tenant's role, so SET ROLE in host code switches tenants.
    const globexSchema = await schemaOf(globex)
    const reached = await acme.transaction(async (client) => {
      await client.query(`set role ${await roleOf(globex)}`) // session-level: outlives the transaction
      return (await client.query(`select body from ${globexSchema}.notes`)).rows
    })
    expect(reached).toEqual([{ body: 'globex' }])
    // That connection was destroyed: the pool's next queries run as the pool's own role.
    for (let i = 0; i < 12; i++)
      expect((await database.pool.query('select current_user = session_user as same')).rows).toEqual([{ same: true }])
    expect(await bodies(acme)).toEqual([])
  })

  it.each(['one message at a time', 'pipelined'])(
    'never runs a statement whose tenant could not be set, %s: it would land in the pool’s own schema',
    async (mode) => {
      const { tenant, roleOf } = await setUp([NOTES], mode === 'pipelined' ? database.pipelinedPool : database.pool)
      const acme = await tenant('Acme')
      const acmeRole = await roleOf(acme)
      const stray = `stray_${acmeRole.slice(-8)}`
      await database.pool.query(`create table public.${stray} (id integer primary key)`)
      const login = (await database.pool.query<{ u: string }>('select current_user as u')).rows[0]!.u
      await database.asSuperuser(`revoke ${acmeRole} from ${login}`)
      try {
        await expect(acme.query(`insert into ${stray} (id) values (1)`)).rejects.toMatchObject({
          code: 'INVALID_QUERY',
          cause: { code: '42501' },
        })
        expect((await database.pool.query(`select count(*)::int as n from public.${stray}`)).rows).toEqual([{ n: 0 }])
      } finally {
        await database.asSuperuser(`grant ${acmeRole} to ${login}`)
      }
      expect((await acme.query('select count(*)::int as n from notes')).rows).toEqual([{ n: 0 }])
    },
  )
})

describe("the 'schema' strategy against a tenant's own SQL, with another tenant's rows present and absent", () => {
  const attacks: [string, (victimSchema: string) => string][] = [
    ['reading its own table', () => 'select * from notes order by id'],
    ['reading the victim’s table by name', (v) => `select * from ${v}.notes`],
    ['writing into the victim’s table', (v) => `insert into ${v}.notes (id, body) values (9, 'planted')`],
    [
      'moving its search_path to the victim',
      (v) => `select set_config('search_path', '${v}', true), (select count(*) from notes)`,
    ],
    [
      'an error oracle on the victim’s table',
      (v) => `select 1 / (select count(*) from ${v}.notes where body = 'victim secret')::int`,
    ],
    ['planner statistics', (v) => `select most_common_vals::text from pg_stats where schemaname = '${v}'`],
    ['listing the victim’s tables', (v) => `select tablename from pg_tables where schemaname = '${v}' order by 1`],
    ['copying the victim’s table out', (v) => `copy ${v}.notes to stdout`],
  ]
  for (const [name, attack] of attacks)
    it.each(['one message at a time', 'pipelined'])(
      `answers alike and leaves the victim whole, %s: ${name}`,
      async (mode) => {
        const { tenant, schemaOf } = await setUp([NOTES], mode === 'pipelined' ? database.pipelinedPool : database.pool)
        const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
        const victimSchema = await schemaOf(victim)
        const outcome = async (victimPresent: boolean) => {
          await attacker.query('delete from notes')
          await victim.query('delete from notes')
          await attacker.query(`insert into notes (id, body) values (2, 'attacker note')`)
          if (victimPresent)
            await victim.query(`insert into notes (id, body) values (1, 'victim secret'), (3, 'victim plans')`)
          const answer = await attacker
            .query(attack(victimSchema))
            .then(({ rows, rowCount }) => ({ rows, rowCount }))
            .catch((err: { code?: string; message: string }) => ({ error: err.code, message: err.message }))
          return { answer, victimRows: await bodies(victim), attackerRows: await bodies(attacker) }
        }
        const absent = await outcome(false)
        const present = await outcome(true)
        expect(present.answer).toEqual(absent.answer)
        expect(present.attackerRows).toEqual(absent.attackerRows)
        expect(present.victimRows).toEqual(['victim secret', 'victim plans'])
        expect(JSON.stringify(present.answer)).not.toMatch(/victim|planted/)
      },
    )
})
