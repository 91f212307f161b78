import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createTenancy, type Tenancy } from 'tenantry'
import { postgresStore, type PostgresMigration, type PostgresStoreOptions } from 'tenantry/postgres'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'
import { storeOf } from '../support/store-of.js'

const database = usePostgresDatabase()

type Strategy = 'rls' | 'schema'

/** The notes table: on 'rls' one per test in the shared `public` schema, on 'schema' one per tenant. */
const notesOf = (schema: string, strategy: Strategy) => (strategy === 'rls' ? `${schema}_notes` : 'notes')
const notesSql = (schema: string, strategy: Strategy) =>
  strategy === 'rls'
    ? `create table ${notesOf(schema, strategy)} (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))`
    : 'create table notes (id integer primary key, body text not null)'
const TAGS = 'create table tags (id integer primary key, name text not null)'

type Options = Partial<PostgresStoreOptions> & { strategy: Strategy }

/** One tenant role per schema (a member of the database's tenants' group), the same for every instance. */
const roles = new Map<string, string>()
const tenantRoleOf = (schema: string) => roles.get(schema) ?? roles.set(schema, database.role()).get(schema)!

/** One instance of the app: a store and a tenancy over `schema`, with these options. */
function instance(schema: string, options: Options, pool: pg.Pool = database.pool): Tenancy {
  const rls = options.strategy === 'rls'
  const store = postgresStore({
    pool,
    schema,
    migrations: [notesSql(schema, options.strategy)],
    ...(rls ? { tables: [notesOf(schema, 'rls')], tenantRole: tenantRoleOf(schema) } : {}),
    ...options,
  } as PostgresStoreOptions)
  return createTenancy({ auth: TEST_AUTH, store })
}

const create = (tenancy: Tenancy, name: string) =>
  tenancy.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })

/** The error a call was refused with, as `{ code, class }`; null if it succeeded. */
async function refused(call: Promise<unknown>): Promise<(Error & { code?: string }) | null> {
  return call.then(
    () => null,
    (err: Error & { code?: string }) => err,
  )
}

/** `call`, or a failure after `ms`: what hangs today fails the test instead of the run. */
function within<T>(ms: number, call: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms)
  })
  return Promise.race([call, late]).finally(() => clearTimeout(timer))
}

const schemaExists = async (name: string) =>
  (await database.pool.query('select 1 from pg_namespace where nspname = $1', [name])).rowCount === 1

/** A connection holding a read on `table` open (an AccessShareLock), until `end()`. */
async function longRead(table: string) {
  const client = await database.pool.connect()
  await client.query('begin')
  await client.query(`select count(*) from ${table}`)
  return {
    end: async () => {
      await client.query('rollback')
      client.release()
    },
  }
}

describe('tenancy.migrate() on PostgreSQL: at deploy, never on a request', () => {
  it.each(['rls', 'schema'] as const)(
    "refuses every operation before it with MigrationRequiredError naming tenancy.migrate(), and makes nothing ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      const tenancy = instance(schema, { strategy })
      const err = await refused(create(tenancy, 'Acme'))
      expect(err).toMatchObject({ code: 'MIGRATION_REQUIRED', name: 'MigrationRequiredError' })
      expect(err!.message).toMatch(/tenancy\.migrate\(\)/)
      await expect(tenancy.tenant({ name: 'Acme' })).rejects.toMatchObject({ code: 'MIGRATION_REQUIRED' })
      // No request made tenantry's schema: only a migrate does.
      expect(await schemaExists(schema)).toBe(false)
      await tenancy.migrate()
      await create(tenancy, 'Acme')
      const acme = await tenancy.tenant({ name: 'Acme' })
      expect((await acme.query(`select count(*)::int as n from ${notesOf(schema, strategy)}`)).rows).toEqual([{ n: 0 }])
    },
  )

  it("runs no DDL on a request after it: a create and a tenant's query pass a long read on the tenant table ('rls')", async () => {
    const schema = database.fresh()
    const tenancy = instance(schema, { strategy: 'rls' })
    await tenancy.migrate()
    // DDL on notes would wait for this read to end; a request that needs none does not.
    const notes = notesOf(schema, 'rls')
    const read = await longRead(notes)
    try {
      await within(3000, create(tenancy, 'Acme'))
      const acme = await tenancy.tenant({ name: 'Acme' })
      await within(3000, acme.query(`insert into ${notes} (id, body) values (1, 'hello')`))
    } finally {
      await read.end()
    }
  })

  it.each(['rls', 'schema'] as const)(
    "checks on the connection an operation holds: a fresh instance's first create finishes on a pool of one ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      await instance(schema, { strategy }).migrate()
      const single = new pg.Pool({ connectionString: database.url, max: 1 })
      try {
        // A new process: its check has not run yet, and the create's transaction holds the only connection.
        const fresh = instance(schema, { strategy }, single)
        await within(5000, create(fresh, 'Acme'))
        const acme = await fresh.tenant({ name: 'Acme' })
        const count = acme.query(`select count(*)::int as n from ${notesOf(schema, strategy)}`)
        expect((await within(5000, count)).rows).toEqual([{ n: 0 }])
      } finally {
        await single.end()
      }
    },
  )

  it("brings a suspended organization's schema up to date, and resume answers with it current ('schema')", async () => {
    const schema = database.fresh()
    const v1 = instance(schema, { strategy: 'schema', migrations: [notesSql(schema, 'schema')] })
    await v1.migrate()
    const { organization } = await create(v1, 'Acme')
    await v1.admin.suspend(organization.id, { reason: 'unpaid' })
    const v2 = instance(schema, { strategy: 'schema', migrations: [notesSql(schema, 'schema'), TAGS] })
    await v2.migrate()
    const record = await storeOf(v2).records.organizations.find({ id: organization.id })
    const tables = await database.pool.query('select tablename from pg_tables where schemaname = $1 order by 1', [
      `${schema}_${record!.dataKey}`,
    ])
    expect(tables.rows).toEqual([{ tablename: 'notes' }, { tablename: 'tags' }])
    await v2.admin.resume(organization.id)
    const acme = await v2.tenant({ id: organization.id })
    await acme.query(`insert into tags (id, name) values (1, 'back')`)
  })

  it("has resume catch up a tenant an older instance made during a rolling deploy ('schema')", async () => {
    const schema = database.fresh()
    const v2 = instance(schema, { strategy: 'schema', migrations: [notesSql(schema, 'schema'), TAGS] })
    await v2.migrate()
    // An instance of the previous version, still serving: it knows only the first migration.
    const v1 = instance(schema, { strategy: 'schema', migrations: [notesSql(schema, 'schema')] })
    const { organization } = await create(v1, 'Late')
    await v1.admin.suspend(organization.id, { reason: 'late' })
    await v2.admin.resume(organization.id)
    const late = await v2.tenant({ id: organization.id })
    expect((await late.query('select count(*)::int as n from tags')).rows).toEqual([{ n: 0 }])
  })
})

describe('migrations identified by name and checksum', () => {
  const named = (sql: string, name = 'notes'): PostgresMigration => ({ name, sql })

  it.each(['rls', 'schema'] as const)(
    "refuses an applied migration whose SQL, name or place changed, naming it, at migrate and on a request ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      const base = notesSql(schema, strategy)
      const v1 = instance(schema, { strategy, migrations: [named(base), named(TAGS, 'tags')] })
      await v1.migrate()
      await create(v1, 'Acme')
      const changes: [string, PostgresMigration[]][] = [
        ['notes', [named(`${base} -- edited`), named(TAGS, 'tags')]],
        ['renamed', [named(base, 'renamed'), named(TAGS, 'tags')]],
        ['tags', [named(TAGS, 'tags'), named(base)]],
      ]
      for (const [name, migrations] of changes) {
        const changed = instance(schema, { strategy, migrations })
        const atMigrate = await refused(changed.migrate())
        expect(atMigrate, name).toMatchObject({ code: 'MIGRATION_REQUIRED' })
        expect(atMigrate!.message).toContain(`"${name}"`)
        const onRequest = await refused(changed.tenant({ name: 'Acme' }).then((acme) => acme.query('select 1')))
        expect(onRequest, name).toMatchObject({ code: 'MIGRATION_REQUIRED' })
        expect(onRequest!.message).toContain(`"${name}"`)
      }
      // Unchanged, with one more: applied, and the rest left as they were.
      const v2 = instance(schema, {
        strategy,
        migrations: [named(base), named(TAGS, 'tags'), named('select 1', 'noop')],
      })
      await v2.migrate()
      const acme = await v2.tenant({ name: 'Acme' })
      expect((await acme.query(`select count(*)::int as n from ${notesOf(schema, strategy)}`)).rows).toEqual([{ n: 0 }])
    },
  )

  it("names a bare string by its position, and tracks tenantry's own record migrations the same way", async () => {
    const schema = database.fresh()
    const tenancy = instance(schema, {
      strategy: 'rls',
      migrations: [notesSql(schema, 'rls'), `create index on ${notesOf(schema, 'rls')} (tenant_id, body)`],
    })
    await tenancy.migrate()
    const host = await database.pool.query(
      `select version, name, checksum from ${schema}.data_migrations order by version`,
    )
    expect(host.rows.map((row) => [row.version, row.name, row.checksum.length])).toEqual([
      [1, '1', 64],
      [2, '2', 64],
    ])
    const own = await database.pool.query(`select version, name, checksum from ${schema}.migrations`)
    expect(own.rows.map((row) => [row.version, row.name, row.checksum.length])).toEqual([[1, 'records', 64]])
    // tenantry's own record migration, changed under it, is refused by name too.
    await database.pool.query(`update ${schema}.migrations set checksum = md5('x') || md5('y')`)
    const err = await refused(instance(schema, { strategy: 'rls' }).migrate())
    expect(err).toMatchObject({ code: 'MIGRATION_REQUIRED' })
    expect(err!.message).toContain('"records"')
  })

  it.each(['rls', 'schema'] as const)(
    "adopts a database recorded by version number only, keeping its data and running nothing again ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      const before = instance(schema, { strategy })
      await before.migrate()
      await create(before, 'Acme')
      const notes = notesOf(schema, strategy)
      await (await before.tenant({ name: 'Acme' })).query(`insert into ${notes} (id, body) values (1, 'kept')`)
      // Back to the bookkeeping of earlier versions: versions only, no strategy recorded.
      const ledger = strategy === 'rls' ? 'data_migrations' : 'schema_migrations'
      await database.pool.query(`drop table ${schema}.data_plane`)
      if (strategy === 'rls') await database.pool.query(`drop table ${schema}.tenant_tables`)
      for (const table of ['migrations', ledger])
        await database.pool.query(`alter table ${schema}.${table} drop column name, drop column checksum`)

      const after = instance(schema, { strategy })
      await expect(after.tenant({ name: 'Acme' })).rejects.toMatchObject({ code: 'MIGRATION_REQUIRED' })
      // Started under the other strategy, the old database is told by its ledger, and refused.
      const other = await refused(instance(schema, { strategy: strategy === 'rls' ? 'schema' : 'rls' }).migrate())
      expect(other).toMatchObject({ code: 'MIGRATION_REQUIRED' })
      await after.migrate()
      const acme = await after.tenant({ name: 'Acme' })
      expect((await acme.query(`select body from ${notes}`)).rows).toEqual([{ body: 'kept' }])
      const adopted = await database.pool.query(`select name from ${schema}.${ledger} where checksum is not null`)
      expect(adopted.rows).toEqual([{ name: '1' }])
    },
  )
})

describe("adopting a table that already has rows ('rls')", () => {
  it('refuses rows without a tenant_id by the table’s name, and migrates once the documented backfill assigned them', async () => {
    const schema = database.fresh()
    const v1 = instance(schema, { strategy: 'rls' })
    await v1.migrate()
    await create(v1, 'Acme')
    await create(v1, 'Globex')
    // The host's table from before tenantry, whose rows name their customer by slug.
    const legacy = `legacy_${schema.slice(-6)}`
    await database.pool.query(`create table ${legacy} (id integer not null, customer text not null, body text)`)
    await database.pool.query(`insert into ${legacy} values (1, 'acme', 'a1'), (2, 'acme', 'a2'), (1, 'globex', 'g1')`)
    const v2 = instance(schema, { strategy: 'rls', tables: [notesOf(schema, 'rls'), legacy] })
    const err = await refused(v2.migrate())
    expect(err).toMatchObject({ code: 'MIGRATION_REQUIRED' })
    expect(err!.message).toContain(legacy)
    expect(err!.message).toMatch(/Adopting a table that has rows/)
    // Until it migrates, the new version serves nothing.
    const acme = await v2.tenant({ name: 'Acme' })
    await expect(acme.query('select 1')).rejects.toMatchObject({ code: 'MIGRATION_REQUIRED' })

    // The recipe: the column, then each row's organization from the host's own mapping.
    await database.pool.query(`alter table ${legacy} add column tenant_id text`)
    await database.pool.query(
      `update ${legacy} set tenant_id = o.id from ${schema}.organizations o where o.slug = ${legacy}.customer`,
    )
    await database.pool.query(`alter table ${legacy} add primary key (tenant_id, id)`)
    await v2.migrate()
    const rows = async (name: string) =>
      (await (await v2.tenant({ name })).query<{ body: string }>(`select body from ${legacy} order by body`)).rows
    expect(await rows('Acme')).toEqual([{ body: 'a1' }, { body: 'a2' }])
    expect(await rows('Globex')).toEqual([{ body: 'g1' }])
  })
})

describe('one strategy per database', () => {
  it.each([
    ['rls', 'schema'],
    ['schema', 'rls'],
  ] as const)("refuses a '%s' database under '%s', at migrate and on a request, naming both", async (held, other) => {
    const schema = database.fresh()
    const first = instance(schema, { strategy: held })
    await first.migrate()
    await create(first, 'Acme')
    const second = instance(schema, { strategy: other })
    const calls = [() => second.migrate(), async () => (await second.tenant({ name: 'Acme' })).query('select 1')]
    for (const call of calls) {
      const err = await refused(call())
      expect(err).toMatchObject({ code: 'MIGRATION_REQUIRED' })
      expect(err!.message).toContain(`'${held}'`)
      expect(err!.message).toContain(`'${other}'`)
    }
  })
})

describe('start-up DDL, safely', () => {
  it.each(['rls', 'schema'] as const)(
    "takes no lock a long read blocks when everything is in place: a second migrate passes it ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      const first = instance(schema, { strategy })
      await first.migrate()
      await create(first, 'Acme')
      const record = await storeOf(first).records.organizations.find({ slug: 'acme' })
      const notes = strategy === 'rls' ? notesOf(schema, strategy) : `${schema}_${record!.dataKey}.notes`
      const read = await longRead(notes)
      try {
        await within(3000, instance(schema, { strategy }).migrate())
      } finally {
        await read.end()
      }
    },
  )

  it('gives up on DDL a long read blocks after the lock timeout, with a typed, retryable error', async () => {
    const schema = database.fresh()
    const first = instance(schema, { strategy: 'rls' })
    await first.migrate()
    const notes = notesOf(schema, 'rls')
    const read = await longRead(notes)
    const started = Date.now()
    try {
      const next = instance(schema, {
        strategy: 'rls',
        migrations: [notesSql(schema, 'rls'), `alter table ${notes} add column done boolean`],
      })
      const err = await refused(within(15_000, next.migrate()))
      expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryable: true })
    } finally {
      await read.end()
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500)
  }, 20_000)

  it.each(['rls', 'schema'] as const)(
    "lets 8 instances on 8 pools set up one new database at once, records and data together, all successfully ('%s')",
    async (strategy) => {
      const schema = database.fresh()
      const pools = Array.from({ length: 8 }, () => new pg.Pool({ connectionString: database.url, max: 2 }))
      try {
        // Each instance's record and data set-up race the others' for the same new schema.
        const stores = pools.map((pool) => storeOf(instance(schema, { strategy }, pool)))
        const outcomes = await Promise.allSettled(
          stores.flatMap((store) => [store.records.migrate!(), store.data.migrate!()]),
        )
        expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(16).fill('fulfilled'))
        const again = instance(schema, { strategy }, pools[0])
        await again.migrate()
        await create(again, 'Acme')
      } finally {
        await Promise.all(pools.map((pool) => pool.end()))
      }
    },
  )

  it("refuses, at construction, a 'schema' name that would make tenant names past 63 bytes, and keeps the longest allowed whole", async () => {
    const longest = `${database.fresh()}_`.padEnd(36, 'x')
    expect(() => instance(`${longest}y`, { strategy: 'schema' })).toThrow(TypeError)
    const tenancy = instance(longest, { strategy: 'schema' })
    await tenancy.migrate()
    const { organization } = await create(tenancy, 'Acme')
    const record = await storeOf(tenancy).records.organizations.find({ id: organization.id })
    const name = `${longest}_${record!.dataKey}`
    expect(name).toHaveLength(63)
    expect(await schemaExists(name)).toBe(true)
    const acme = await tenancy.tenant({ id: organization.id })
    expect((await acme.query('select current_schema() as s')).rows).toEqual([{ s: name }])
  })
})
