import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

/** pgbouncer on PATH, or where Debian puts it (/usr/sbin, often off a user's PATH). */
function pgbouncerBinary(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin']
  for (const dir of dirs) {
    const path = join(dir, 'pgbouncer')
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  // Never a skip: .ci/run and the workflow install it, so its absence is a broken machine.
  throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run does it when run as root)')
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

export interface PgBouncer {
  /** `url` (a database on the server PgBouncer fronts) as reached through PgBouncer. */
  through(url: string): string
  stop(): Promise<void>
}

/**
 * Starts a PgBouncer of the caller's own in transaction mode on a free port of 127.0.0.1, in
 * front of `server`'s host and port, letting `users` in without a password (trust: the server
 * behind it trusts them too). One server connection per database and user, so whatever one
 * client leaves on it, the next client gets. `server_reset_query` is left alone: transaction mode
 * never runs it, as in production.
 */
export async function startPgBouncer(server: string, users: readonly string[]): Promise<PgBouncer> {
  const binary = pgbouncerBinary()
  const upstream = new URL(server)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tenantry-pgbouncer-'))
  const authFile = join(dir, 'users.txt')
  const ini = join(dir, 'pgbouncer.ini')
  writeFileSync(authFile, users.map((user) => `"${user}" ""\n`).join(''))
  writeFileSync(
    ini,
    `[databases]
* = host=${upstream.hostname} port=${upstream.port || 5432}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${authFile}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 200
; A client waiting for the one server connection fails rather than hangs the suite.
query_wait_timeout = 15
`,
  )
  // pgbouncer refuses to run as root; as root it is told to switch to postgres, who must read these.
  const asRoot = process.getuid?.() === 0
  for (const [path, mode] of [
    [dir, 0o755],
    [authFile, 0o644],
    [ini, 0o644],
  ] as const)
    chmodSync(path, mode)
  const child = spawn(binary, asRoot ? ['-u', 'postgres', ini] : [ini], { stdio: ['ignore', 'pipe', 'pipe'] })
  await listening(child)
  return {
    through(url) {
      const via = new URL(url)
      via.hostname = '127.0.0.1'
      via.port = String(port)
      return via.toString()
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Resolves once pgbouncer logs that it is up; rejects with its log if it exits first. */
function listening(child: ChildProcess): Promise<void> {
  let log = ''
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pgbouncer did not start within 10 s:\n${log}`)), 10_000)
    const read = (chunk: Buffer) => {
      log += chunk
      if (/process up|listening on 127\.0\.0\.1/.test(log)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', read)
    child.stderr!.on('data', read)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`pgbouncer exited (${code}) before listening:\n${log}`))
    })
  })
}

/**
 * A PgBouncer in front of the file's own database (usePostgresDatabase's `url`), started after
 * it and stopped before it is dropped. `url()` is the database through the bouncer.
 */
export function usePgBouncer(database: { readonly url: string }) {
  let bouncer: PgBouncer | undefined
  beforeAll(async () => {
    bouncer = await startPgBouncer(database.url, [new URL(database.url).username])
  })
  afterAll(async () => {
    await bouncer?.stop()
  })
  return {
    url(): string {
      if (!bouncer) throw new Error('usePgBouncer: the bouncer starts in beforeAll')
      return bouncer.through(database.url)
    },
  }
}
