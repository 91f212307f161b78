import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll } from 'vitest'

/** The local server (trust auth, user postgres), or POSTGRES_URL. */
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

const unique = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`

/**
 * A database of this test file's own on the real server, created before its tests and dropped
 * after them; `fresh()` names a new schema in it, so every store a test makes starts empty.
 * Never skips: PostgreSQL runs wherever these tests do.
 */
export function usePostgresDatabase() {
  const state: { pool?: pg.Pool; database?: string } = {}
  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    state.database = unique('tenantry_test')
    await admin.query(`create database ${state.database}`)
    await admin.end()
    const url = new URL(POSTGRES_URL)
    url.pathname = `/${state.database}`
    state.pool = new pg.Pool({ connectionString: url.toString(), max: 10 })
  })
  afterAll(async () => {
    await state.pool?.end()
    if (!state.database) return
    const admin = new pg.Client({ connectionString: POSTGRES_URL })
    await admin.connect()
    await admin.query(`drop database if exists ${state.database} with (force)`)
    await admin.end()
  })
  return {
    get pool(): pg.Pool {
      if (!state.pool) throw new Error('usePostgresDatabase: the database is made in beforeAll')
      return state.pool
    },
    fresh: () => unique('s'),
  }
}
