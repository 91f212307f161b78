/**
 * tenantry on the local PostgreSQL, in a process of its own: a tenant's one-row query through
 * `tenant.query` on `'rls'` and `'schema'` against the same query on a bare `pool.query`; a
 * cached `authenticate` with PostgreSQL records against the memory store's; a login; and the
 * store reads that single-flight misses and remembered unknown names save. The pool connects as
 * a role of its own (not superuser, no BYPASSRLS) owning a database made for the run and dropped
 * after. Prints JSON.
 *
 * POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a superuser connection.
 */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createTenancy, memoryStore, type Tenant } from 'tenantry'
import { postgresSetupSql, postgresStore } from 'tenantry/postgres'
import { PASSWORD, SECRET } from './constants.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SECONDS = Math.max(1, Number(process.env.BENCH_SECONDS ?? 5) / 2)
const CONCURRENCY = 8
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const suffix = randomBytes(4).toString('hex')
const database = `tenantry_bench_${suffix}`
const owner = `tenantry_bench_app_${suffix}`

async function asSuperuser(statements: string[], inDatabase?: string): Promise<void> {
  const at = new URL(url)
  if (inDatabase) at.pathname = `/${inDatabase}`
  const client = new pg.Client({ connectionString: at.toString() })
  await client.connect()
  try {
    for (const statement of statements) await client.query(statement)
  } finally {
    await client.end()
  }
}

/** Operations per second of `op`, `CONCURRENCY` loops at once for `SECONDS`. */
async function throughput(op: () => Promise<unknown>): Promise<number> {
  let done = 0
  const until = performance.now() + SECONDS * 1000
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < until) {
        await op()
        done++
      }
    }),
  )
  return done / SECONDS
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

await asSuperuser([`create role ${owner} login nosuperuser nobypassrls`, `create database ${database} owner ${owner}`])
// What a DBA runs once per database (docs/stores.md, "The roles"): the tenants' group, no large objects.
await asSuperuser(
  [
    `grant create on schema public to ${owner}`,
    ...postgresSetupSql({ group: `${database}_tenant`, admin: `${database}_roles`, callers: [owner] }),
  ],
  database,
)
const poolUrl = new URL(url)
poolUrl.pathname = `/${database}`
poolUrl.username = owner
const pool = new pg.Pool({ connectionString: poolUrl.toString(), max: CONCURRENCY + 2 })
// Every statement the pool runs itself, counted: the record store's reads (a tenant's
// transaction takes a connection of its own and is not counted).
let statements = 0
const countedPool = new Proxy(pool, {
  get(target, key, receiver) {
    if (key === 'query')
      return (...args: Parameters<pg.Pool['query']>) => {
        statements++
        return (target.query as (...a: unknown[]) => unknown)(...args)
      }
    return Reflect.get(target, key, receiver)
  },
}) as pg.Pool

try {
  await pool.query('create table notes_bare (id integer primary key, body text not null)')
  await pool.query(`insert into notes_bare values (1, 'hello')`)
  const auth = { secret: SECRET, bcryptCost: 4 }
  const rls = createTenancy({
    auth,
    store: postgresStore({
      pool: countedPool,
      schema: 'bench_rls',
      strategy: 'rls',
      migrations: [
        'create table notes (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))',
      ],
      tables: ['notes'],
    }),
  })
  const bySchema = createTenancy({
    auth,
    store: postgresStore({
      pool: countedPool,
      schema: 'bench_schema',
      strategy: 'schema',
      migrations: ['create table notes (id integer primary key, body text not null)'],
    }),
  })
  const tenantOf = async (tenancy: typeof rls): Promise<Tenant> => {
    await tenancy.orgs.create({ name: 'Acme', email: 'a@bench.test', password: PASSWORD })
    const tenant = await tenancy.tenant({ slug: 'acme' })
    await tenant.query(`insert into notes (id, body) values (1, 'hello')`)
    return tenant
  }
  await rls.migrate()
  await bySchema.migrate()
  const [rlsTenant, schemaTenant] = [await tenantOf(rls), await tenantOf(bySchema)]
  const memory = createTenancy({ auth, store: memoryStore() })
  await memory.orgs.create({ name: 'Acme', email: 'a@bench.test', password: PASSWORD })

  const one = 'select body from notes where id = $1'
  const variants = {
    bare: () => pool.query('select body from notes_bare where id = $1', [1]),
    rls: () => rlsTenant.query(one, [1]),
    schema: () => schemaTenant.query(one, [1]),
  }
  const rounds: Record<keyof typeof variants, number[]> = { bare: [], rls: [], schema: [] }
  for (let round = 0; round < ROUNDS; round++)
    for (const name of Object.keys(variants) as (keyof typeof variants)[])
      rounds[name].push(await throughput(variants[name]))
  const ratio = (name: 'rls' | 'schema') => median(rounds[name].map((ops, i) => ops / rounds.bare[i]!))

  // A cached authenticate: no statement reaches the database.
  const token = (await rls.auth.login({ email: 'a@bench.test', password: PASSWORD })).accessToken
  const memoryToken = (await memory.auth.login({ email: 'a@bench.test', password: PASSWORD })).accessToken
  await rls.authenticate(token)
  const before = statements
  const authRounds = { postgres: [] as number[], memory: [] as number[] }
  for (let round = 0; round < ROUNDS; round++) {
    authRounds.postgres.push(await throughput(() => rls.authenticate(token)))
    authRounds.memory.push(await throughput(() => memory.authenticate(memoryToken)))
  }
  const statementsPerCachedAuthenticate = (statements - before) / authRounds.postgres.reduce((a, b) => a + b, 0)
  const logins = await throughput(() => rls.auth.login({ email: 'a@bench.test', password: PASSWORD }))

  // Misses: 100 concurrent lookups of one organization on a cold instance, then 10,000 made-up
  // slugs looked up twice within the cache's TTL.
  const coldInstance = createTenancy({
    auth,
    cache: { size: 20_000, ttlMs: 60_000 },
    store: postgresStore({
      pool: countedPool,
      schema: 'bench_rls',
      strategy: 'rls',
      tables: ['notes'],
      migrations: [
        'create table notes (tenant_id text not null, id integer not null, body text not null, primary key (tenant_id, id))',
      ],
    }),
  })
  let mark = statements
  await Promise.all(Array.from({ length: 100 }, () => coldInstance.tenant({ slug: 'acme' })))
  const readsFor100ConcurrentColdLookups = statements - mark
  const names = Array.from({ length: 10_000 }, () => `x${randomBytes(6).toString('hex')}`)
  mark = statements
  for (const name of names) await coldInstance.tenant({ slug: name }).catch(() => {})
  const readsForUnknownFirstPass = statements - mark
  mark = statements
  for (const name of names) await coldInstance.tenant({ slug: name }).catch(() => {})
  const readsForUnknownSecondPass = statements - mark

  console.log(
    JSON.stringify({
      query: {
        bare: median(rounds.bare),
        rls: median(rounds.rls),
        schema: median(rounds.schema),
        rlsRatio: ratio('rls'),
        schemaRatio: ratio('schema'),
      },
      authenticate: {
        postgres: median(authRounds.postgres),
        memory: median(authRounds.memory),
        ratio: median(authRounds.postgres.map((ops, i) => ops / authRounds.memory[i]!)),
        statementsPerCall: statementsPerCachedAuthenticate,
      },
      loginsPerSecond: logins,
      readsFor100ConcurrentColdLookups,
      readsForUnknownFirstPass,
      readsForUnknownSecondPass,
    }),
  )
} finally {
  await pool.end()
  // The 'schema' strategy's tenant roles are the cluster's: they go by name once the database is gone.
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const { rows } = await client.query<{ rolname: string }>('select rolname from pg_roles where rolname like $1', [
    `${database}\\_%`,
  ])
  await client.end()
  await asSuperuser([
    `drop database if exists ${database} with (force)`,
    ...rows.map((row) => `drop role if exists ${row.rolname}`),
    `drop role if exists ${owner}`,
  ])
}
