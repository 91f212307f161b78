import { createRequire } from 'node:module'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { createTenancy, errors } from 'tenantry'
import { toProblem } from 'tenantry/http'
import { postgresStore } from 'tenantry/postgres'
import { escapeLiteral, prepareValue } from '../../src/stores/postgres/postgres-literals.js'
import { statementError } from '../../src/stores/postgres/postgres-statement-errors.js'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { usePostgresDatabase } from '../support/postgres.js'

const database = usePostgresDatabase()

async function setUp(pool = database.pool, pipeline?: boolean) {
  const role = database.role()
  const notes = `notes_${database.fresh().slice(-12)}`
  const store = postgresStore({
    pool,
    schema: database.fresh(),
    strategy: 'rls',
    tenantRole: role,
    ...(pipeline === undefined ? {} : { pipeline }),
    migrations: [
      `create table ${notes} (tenant_id text not null, id bigint not null, body text not null check (body <> ''), primary key (tenant_id, id))`,
    ],
    tables: [notes],
  })
  const tenancy = createTenancy({ auth: TEST_AUTH, store })
  await tenancy.migrate()
  await tenancy.orgs.create({ name: 'Acme', email: 'acme@x.test', password: PASSWORD })
  return { notes, acme: await tenancy.tenant({ name: 'Acme' }) }
}

/** What a client and an operator see of an error: its class, code, HTTP status and the driver's SQLSTATE. */
const seen = (err: unknown) => {
  const { name, code, cause } = err as { name: string; code?: string; cause?: { code?: string } }
  return { name, code, status: toProblem(err)?.status, sqlstate: cause?.code }
}
const failure = (pending: Promise<unknown>) =>
  pending.then(
    () => ({ resolved: true }),
    (err: unknown) => seen(err),
  )

// `pipeline: false` holds for every store on its pool: that mode gets a pool of its own.
let plainPool: pg.Pool | undefined
afterAll(() => plainPool?.end())
const MODES = [
  ['one message at a time', () => database.pool, undefined],
  ['pipelined', () => database.pipelinedPool, undefined],
  ['pipeline: false', () => (plainPool ??= new pg.Pool({ connectionString: database.url, max: 4 })), false],
] as const

describe('an engine error escaping tenant.query or tenant.transaction', () => {
  it.each(MODES)(
    'is typed, with the driver’s error as cause and its HTTP status, %s',
    async (_mode, pool, pipeline) => {
      const { acme, notes } = await setUp(pool(), pipeline)
      await acme.query(`insert into ${notes} (id, body) values (1, 'first')`)
      const cases: [string, () => Promise<unknown>, ReturnType<typeof seen>][] = [
        [
          'a bad ?id= for a bigint',
          () => acme.query(`select body from ${notes} where id = $1`, ['12abc']),
          { name: 'InvalidQueryError', code: 'INVALID_QUERY', status: 400, sqlstate: '22P02' },
        ],
        [
          'a syntax error',
          () => acme.query('selec 1'),
          { name: 'InvalidQueryError', code: 'INVALID_QUERY', status: 400, sqlstate: '42601' },
        ],
        [
          'an unknown table',
          () => acme.query('select * from no_such_table'),
          { name: 'InvalidQueryError', code: 'INVALID_QUERY', status: 400, sqlstate: '42P01' },
        ],
        [
          'a privilege the tenant lacks',
          () => acme.query(`truncate ${notes}`),
          { name: 'InvalidQueryError', code: 'INVALID_QUERY', status: 400, sqlstate: '42501' },
        ],
        [
          'a taken key',
          () => acme.query(`insert into ${notes} (id, body) values (1, 'again')`),
          { name: 'DuplicateKeyError', code: 'DUPLICATE_KEY', status: 409, sqlstate: '23505' },
        ],
        [
          'a check constraint',
          () => acme.query(`insert into ${notes} (id, body) values (2, '')`),
          { name: 'ConstraintViolationError', code: 'CONSTRAINT_VIOLATION', status: 409, sqlstate: '23514' },
        ],
        [
          'a statement timeout, rethrown from the callback',
          () =>
            acme.transaction(async (client) => {
              await client.query(`select set_config('statement_timeout', '50', true)`)
              await client.query('select pg_sleep(2)')
            }),
          { name: 'QueryTimeoutError', code: 'QUERY_TIMEOUT', status: 503, sqlstate: '57014' },
        ],
      ]
      for (const [name, pending, expected] of cases) expect(await failure(pending()), name).toEqual(expected)
      // Nothing of the failed statements stayed.
      expect((await acme.query(`select body from ${notes} order by id`)).rows).toEqual([{ body: 'first' }])
    },
  )

  it('is the driver’s own error inside the callback, where an ORM inspects it', async () => {
    const { acme, notes } = await setUp()
    let inside: unknown
    await acme
      .transaction(async (client) => {
        inside = await client.query(`select 1 from ${notes} where id = $1`, ['x']).catch((err: unknown) => err)
      })
      .catch(() => {})
    expect(inside).toBeInstanceOf(pg.DatabaseError)
    expect(inside).not.toBeInstanceOf(errors.TenantryError)
    expect(inside).toMatchObject({ code: '22P02' })
  })

  it('passes the host’s own errors through as they are', async () => {
    const { acme } = await setUp()
    const mine = new Error('the host’s own')
    await expect(acme.transaction(() => Promise.reject(mine))).rejects.toBe(mine)
  })

  it('is retryable DATABASE_UNAVAILABLE (503) when the connection is lost mid-transaction', async () => {
    const { acme } = await setUp()
    const lost = await failure(
      acme.transaction(async (client) => {
        const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
        await database.pool.query('select pg_terminate_backend($1)', [rows[0]!.pid])
        await client.query('select 1')
      }),
    )
    expect(lost).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 })
    expect((await acme.query('select 1 as up')).rows).toEqual([{ up: 1 }])
  })

  it.each(MODES)(
    'refuses an empty statement, only spaces or only a comment, with INVALID_QUERY, %s',
    async (_mode, pool, pipeline) => {
      const { acme } = await setUp(pool(), pipeline)
      for (const text of ['', '   \n', '-- only a comment', '/* only a comment */'])
        expect(await failure(acme.query(text)), JSON.stringify(text)).toEqual({
          name: 'InvalidQueryError',
          code: 'INVALID_QUERY',
          status: 400,
          sqlstate: undefined,
        })
      expect((await acme.query('select 1 as n')).rows).toEqual([{ n: 1 }])
    },
  )
})

describe('the SQLSTATEs no test statement can provoke on demand', () => {
  const engineError = (code: string) =>
    Object.assign(new pg.DatabaseError('from the engine', 1, 'error'), { code, severity: 'ERROR' })
  it.each([
    ['40001', 'TransactionConflictError', 409],
    ['40P01', 'TransactionConflictError', 409],
    ['55P03', 'QueryTimeoutError', 503],
    ['25P03', 'QueryTimeoutError', 503],
    ['08006', 'DatabaseUnavailableError', 503],
    ['57P01', 'DatabaseUnavailableError', 503],
    ['53300', 'DatabaseUnavailableError', 503],
    ['23503', 'ConstraintViolationError', 409],
    ['0A000', 'InvalidQueryError', 400],
    ['XX000', 'TenantryError', undefined],
  ])('maps %s to %s (HTTP %s)', (code, name, status) => {
    const typed = statementError(engineError(code))
    expect(seen(typed)).toEqual({ name, code: expect.any(String), status, sqlstate: code })
  })

  it('maps a socket error to DATABASE_UNAVAILABLE and leaves an error without a SQLSTATE alone', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })
    expect(seen(statementError(reset))).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 })
    const plain = Object.assign(new Error('five letters, no severity'), { code: 'ABCDE' })
    expect(statementError(plain)).toBe(plain)
  })
})

describe('the literals and parameters tenantry writes itself', () => {
  const pgUtils = createRequire(import.meta.url)('pg/lib/utils.js') as {
    prepareValue(value: unknown): unknown
    escapeLiteral(value: string): string
  }
  const tricky = ["it's", 'back\\slash', "both \\' mixed", '', 'ünïcödé', '"quoted"', "E'x'"]

  it('writes every literal as pg does, and the server reads it back as given', async () => {
    for (const text of tricky) {
      expect(escapeLiteral(text)).toBe(pgUtils.escapeLiteral(text))
      const { rows } = await database.pool.query(`select ${escapeLiteral(text)} = $1 as same`, [text])
      expect(rows, text).toEqual([{ same: true }])
    }
  })

  it('prepares every parameter as pg does', () => {
    const values = [
      null,
      undefined,
      1,
      1.5,
      10n,
      true,
      'text',
      Buffer.from('bytes'),
      new Uint8Array([1, 2]),
      new Date(Date.UTC(2024, 1, 29, 12, 30, 45, 123)),
      new Date('0000-06-01T00:00:00Z'),
      [1, null, 'a"b\\c', [2, 3], new Uint8Array([255]), new Date(0)],
      { a: 1, nested: { b: [1, 2] } },
      { toPostgres: () => 'custom' },
    ]
    for (const value of values) expect(prepareValue(value), String(value)).toEqual(pgUtils.prepareValue(value))
  })
})
