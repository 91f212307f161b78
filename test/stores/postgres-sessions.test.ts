import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy, type Tenant } from 'tenantry'
import { postgresStore } from 'tenantry/postgres'
import type { SqlClient } from 'tenantry/store'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

/**
 * Pools of one connection, so every tenant's work lands on the connection the previous tenant
 * used: one sending a message at a time, one pipelining.
 */
const pools: Record<string, pg.Pool> = {}
const POOLS = ['one message at a time', 'pipelined'] as const
beforeAll(() => {
  pools[POOLS[0]] = new pg.Pool({ connectionString: database.url, max: 1 })
  pools[POOLS[1]] = new pg.Pool({ connectionString: database.url, max: 1, pipeline: true } as pg.PoolConfig)
  pools.two = new pg.Pool({ connectionString: database.url, max: 2 })
})
afterAll(async () => {
  for (const pool of Object.values(pools)) await pool.end()
})

async function setUp(pool: pg.Pool) {
  const role = database.role()
  const notes = `notes_${database.fresh().slice(-12)}`
  const options = {
    // Every connection of these small pools may serve tenants: nothing here reads records meanwhile.
    reservedConnections: 0,
    schema: database.fresh(),
    strategy: 'rls' as const,
    tenantRole: role,
    migrations: [
      `create table ${notes} (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))`,
      `create sequence ${notes}_seq`,
      `grant usage on sequence ${notes}_seq to ${role}`,
    ],
    tables: [notes],
  }
  // Organizations are made on the shared pool; their tenants then work through the pool of one.
  const maker = createTenancy({ auth: TEST_AUTH, store: postgresStore({ ...options, pool: database.pool }) })
  const tenancy = createTenancy({ auth: TEST_AUTH, store: postgresStore({ ...options, pool }) })
  await maker.migrate()
  const tenant = async (name: string) => {
    await maker.orgs.create({ name, email: `${name.toLowerCase()}@x.test`, password: PASSWORD })
    return tenancy.tenant({ name })
  }
  return { notes, tenant }
}

/** What a caller sees, for comparison by structure: rows, or the error's class and codes. */
const answerOf = (pending: Promise<unknown>) =>
  pending.then(
    (result) => ({ rows: (result as { rows: unknown[] }).rows }),
    (err: { name: string; code?: string; cause?: { code?: string } }) => ({
      error: err.name,
      code: err.code,
      cause: err.cause?.code,
    }),
  )

/** The victim's rows as the victim itself reads them. */
const bodiesOf = async (tenant: Tenant, notes: string) =>
  (await tenant.query<{ body: string }>(`select body from ${notes} order by id`)).rows.map((row) => row.body)

interface Attack {
  /** What the victim's code leaves on its connection, built from its own rows. */
  victim(tenant: Tenant, notes: string): Promise<unknown>
  /** What the next tenant on that connection does, and answers. */
  attacker(tenant: Tenant, notes: string): Promise<unknown>
}

const inTransaction = (statements: (notes: string) => string[]) => (tenant: Tenant, notes: string) =>
  tenant.transaction(async (client) => {
    let last: unknown
    for (const statement of statements(notes)) last = await client.query(statement)
    return last
  })

/** The victim's bodies, read inside its transaction and spliced into what its code leaves behind. */
const withBodies =
  (leave: (bodies: string, client: SqlClient) => Promise<unknown>) => (tenant: Tenant, notes: string) =>
    tenant.transaction(async (client) => {
      const { rows } = await client.query<{ bodies: string }>(
        `select coalesce(string_agg(body, ',' order by id), 'none') as bodies from ${notes}`,
      )
      return leave(rows[0]!.bodies.replaceAll(/[^a-z,]/g, '_'), client)
    })

const ATTACKS: Record<string, Attack> = {
  'an export staging rows in a temporary table of the same name gets only its own rows': {
    victim: inTransaction((n) => [
      'create temp table staging (body text)',
      `insert into staging select body from ${n}`,
    ]),
    attacker: inTransaction((n) => [
      'create temp table if not exists staging (body text)',
      `insert into staging select body from ${n}`,
      'select body from staging order by body',
    ]),
  },
  'a temporary table named like the real table no longer shadows it': {
    victim: (tenant, n) => tenant.query(`create temp table ${n} as select id, body from public.${n}`),
    attacker: inTransaction((n) => [
      `insert into ${n} (id, body) values (5, 'attacker insert')`,
      `select body from ${n} order by id`,
    ]),
  },
  'a WITH HOLD cursor cannot be fetched by the next tenant': {
    victim: inTransaction((n) => [`declare leak cursor with hold for select body from ${n} order by id`]),
    attacker: (tenant) => tenant.transaction((client) => client.query('fetch all from leak')),
  },
  'a session advisory lock is released': {
    victim: (tenant, n) => tenant.query(`select pg_advisory_lock(count(*)) from ${n}`),
    attacker: (tenant) =>
      tenant.query("select objid from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"),
  },
  'LISTEN is gone': {
    victim: withBodies((bodies, client) => client.query(`listen "${bodies}"`)),
    attacker: (tenant) => tenant.query('select pg_listening_channels() as channel'),
  },
  'a session setting of one tenant does not apply to the next': {
    victim: (tenant, n) =>
      tenant.query(
        `select set_config('default_transaction_read_only', case when exists (select from ${n}) then 'on' else 'off' end, false)`,
      ),
    attacker: (tenant, n) => tenant.query(`insert into ${n} (id, body) values (6, 'attacker write') returning id`),
  },
  'a custom setting and row_security set for the session are reset': {
    victim: withBodies((bodies, client) =>
      client.query(
        `select set_config('app.secret', $1, false), set_config('row_security', case when $1 = 'none' then 'on' else 'off' end, false)`,
        [bodies],
      ),
    ),
    attacker: (tenant, n) =>
      tenant.query(
        `select current_setting('app.secret', true) as secret, current_setting('row_security') as rs, (select count(*)::int from ${n}) as n`,
      ),
  },
  'a PREPAREd statement is gone': {
    victim: withBodies((bodies, client) => client.query(`prepare leak as select '${bodies}' as body`)),
    attacker: (tenant) => tenant.query('select statement from pg_prepared_statements'),
  },
  'lastval() does not return the previous tenant’s value': {
    victim: (tenant, n) => tenant.query(`select nextval('${n}_seq') from ${n}`),
    attacker: (tenant) => tenant.query('select lastval() as value'),
  },
  'SET ROLE and search_path set for the session are reset': {
    victim: withBodies((bodies, client) =>
      client.query(
        `select set_config('search_path', case when $1 = 'none' then 'public' else 'pg_catalog' end, false), set_config('role', current_user, false)`,
        [bodies],
      ),
    ),
    attacker: (tenant) =>
      tenant.query("select current_setting('search_path') as path, session_user = current_user as session_role"),
  },
}

describe('a pooled connection handed from one tenant to the next, with the first tenant’s rows present and absent', () => {
  for (const [name, attack] of Object.entries(ATTACKS))
    it.each(POOLS)(`answers alike, %s: ${name}`, async (mode) => {
      const { tenant, notes } = await setUp(pools[mode]!)
      const [attacker, victim] = [await tenant('Attacker'), await tenant('Victim')]
      const outcome = async (victimPresent: boolean) => {
        await attacker.query(`delete from ${notes}`)
        await victim.query(`delete from ${notes}`)
        await attacker.query(`insert into ${notes} (id, body) values (2, 'attacker note')`)
        if (victimPresent)
          await victim.query(`insert into ${notes} (id, body) values (1, 'victim secret'), (3, 'victim plans')`)
        await attack.victim(victim, notes)
        const answer = await answerOf(attack.attacker(attacker, notes))
        return { answer, attackerRows: await bodiesOf(attacker, notes) }
      }
      const absent = await outcome(false)
      const present = await outcome(true)
      expect(present).toEqual(absent)
      expect(JSON.stringify(present)).not.toMatch(/victim/)
      expect(await bodiesOf(victim, notes)).toEqual(['victim secret', 'victim plans'])
    })
})

describe('the client lent to a transaction', () => {
  it.each(POOLS)(
    'refuses a stray query after the callback returned, %s, while the connection serves the next tenant',
    async (mode) => {
      const { tenant, notes } = await setUp(pools[mode]!)
      const [first, second] = [await tenant('First'), await tenant('Second')]
      await second.query(`insert into ${notes} (id, body) values (1, 'second secret')`)
      let kept: SqlClient | undefined
      await first.transaction(async (client) => {
        kept = client
      })
      const stray = await second.transaction(async () =>
        answerOf(Promise.resolve().then(() => kept!.query(`select body from ${notes}`))),
      )
      expect(stray).toEqual({ error: 'TypeError', code: undefined, cause: undefined })
    },
  )

  it.each(POOLS)(
    'refuses release() inside the callback, %s, and commits nothing of the first tenant in the second’s transaction',
    async (mode) => {
      const { tenant, notes } = await setUp(pools[mode]!)
      const [first, second] = [await tenant('First'), await tenant('Second')]
      const released = await first
        .transaction(async (client) => {
          await client.query(`insert into ${notes} (id, body) values (1, 'first, uncommitted')`)
          ;(client as unknown as { release(): void }).release()
          // Were the connection released, this transaction would now run on it too.
          await second.query(`insert into ${notes} (id, body) values (2, 'second')`)
          throw new Error('the host gives up')
        })
        .catch((err: Error) => err)
      expect(await bodiesOf(first, notes)).toEqual([])
      expect(await bodiesOf(second, notes)).toEqual([])
      expect(released).toBeInstanceOf(TypeError)
    },
  )

  it('passes config objects, rowMode and callbacks through to the connection while the callback runs', async () => {
    const { tenant } = await setUp(pools[POOLS[0]]!)
    const acme = await tenant('Acme')
    const { arrays, viaCallback } = await acme.transaction(async (client) => {
      const pgClient = client as unknown as pg.PoolClient
      const arrays = (await pgClient.query({ text: 'select $1::int as n, 2 as m', values: [1], rowMode: 'array' })).rows
      const viaCallback = await new Promise((resolve, reject) =>
        pgClient.query('select 3 as n', (err: Error | null, result: pg.QueryResult) =>
          err ? reject(err) : resolve(result.rows),
        ),
      )
      return { arrays, viaCallback }
    })
    expect(arrays).toEqual([[1, 2]])
    expect(viaCallback).toEqual([{ n: 3 }])
  })
})

describe('the host’s own use of the pool around tenant transactions', () => {
  it.each(POOLS)('keeps a named query working on a connection a tenant transaction reset, %s', async (mode) => {
    const pool = pools[mode]!
    const { tenant } = await setUp(pool)
    const acme = await tenant('Acme')
    const named = { name: 'host_named_query', text: 'select 40 + $1::int as n', values: [2] }
    expect((await pool.query(named)).rows).toEqual([{ n: 42 }])
    await acme.transaction(async (client) => client.query('select 1'))
    await acme.query('select 1')
    expect((await pool.query(named)).rows).toEqual([{ n: 42 }])
  })
})

describe('tenant calls inside a transaction', () => {
  it.each(POOLS)(
    'runs the same organization’s query and transaction on the transaction’s own connection, %s, on a pool of one',
    async (mode) => {
      const { tenant, notes } = await setUp(pools[mode]!)
      const acme = await tenant('Acme')
      const seen = await acme.transaction(async (client) => {
        await client.query(`insert into ${notes} (id, body) values (1, 'uncommitted')`)
        // Seeing the row not yet committed proves the same connection and transaction.
        const viaQuery = (await acme.query<{ body: string }>(`select body from ${notes}`)).rows
        const viaTransaction = await acme.transaction(
          async (inner) => (await inner.query<{ body: string }>(`select body from ${notes}`)).rows,
        )
        return { viaQuery, viaTransaction }
      })
      expect(seen).toEqual({ viaQuery: [{ body: 'uncommitted' }], viaTransaction: [{ body: 'uncommitted' }] })
    },
  )

  it('runs two such transactions at once on a pool of two', async () => {
    const { tenant, notes } = await setUp(pools.two!)
    const both = [await tenant('Acme'), await tenant('Globex')]
    const counts = await Promise.all(
      both.map((org) =>
        org.transaction(async (client) => {
          await client.query(`insert into ${notes} (id, body) values (1, 'mine')`)
          await new Promise((resolve) => setTimeout(resolve, 50))
          return (await org.query<{ n: number }>(`select count(*)::int as n from ${notes}`)).rows[0]!.n
        }),
      ),
    )
    expect(counts).toEqual([1, 1])
  })

  it('rolls a nested transaction that threw back to its savepoint and keeps the outer one', async () => {
    const { tenant, notes } = await setUp(pools[POOLS[0]]!)
    const acme = await tenant('Acme')
    await acme.transaction(async (client) => {
      await client.query(`insert into ${notes} (id, body) values (1, 'outer')`)
      await acme
        .transaction(async (inner) => {
          await inner.query(`insert into ${notes} (id, body) values (2, 'inner')`)
          await inner.query('select 1 / 0')
        })
        .catch(() => {})
    })
    expect((await acme.query(`select body from ${notes} order by id`)).rows).toEqual([{ body: 'outer' }])
  })

  it('gives another organization’s call inside a transaction a connection of its own', async () => {
    const { tenant, notes } = await setUp(pools.two!)
    const [acme, globex] = [await tenant('Acme'), await tenant('Globex')]
    const fromGlobex = await acme.transaction(async (client) => {
      await client.query(`insert into ${notes} (id, body) values (1, 'acme, uncommitted')`)
      return (
        await globex.query(`select body, current_setting('tenantry.tenant_id') = $1 as own from ${notes}`, [globex.id])
      ).rows
    })
    expect(fromGlobex).toEqual([])
    expect((await globex.query(`select current_setting('tenantry.tenant_id') = $1 as own`, [globex.id])).rows).toEqual([
      { own: true },
    ])
  })
})
