/**
 * How the bench starts a server variant in a process of its own (bench/server.ts), drives it with
 * autocannon and reads the CPU time it spent: shared by every comparison `npm run bench` makes.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

export const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const serverFile = fileURLToPath(new URL('./server.ts', import.meta.url))

export interface Started {
  child: ChildProcess
  url: string
  headers: Record<string, string>[]
  memoryPerOrganizationBytes?: number
}

export async function startVariant(variant: string, organizations = 1): Promise<Started> {
  const child = fork(serverFile, [variant, String(organizations)], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const [ready] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => Promise.reject(new Error(`${variant} exited before it was ready`))),
  ])) as [{ port: number; headers: Record<string, string>[]; memoryPerOrganizationBytes?: number }]
  return {
    child,
    url: `http://127.0.0.1:${ready.port}`,
    headers: ready.headers,
    memoryPerOrganizationBytes: ready.memoryPerOrganizationBytes,
  }
}

export async function stop(started: Started): Promise<void> {
  started.child.kill()
  await once(started.child, 'exit')
}

export interface Sample {
  rps: number
  p50: number
  p99: number
  errors: number
  requests: number
  /** Server CPU time per answered request, in µs (0 where not measured). */
  cpuMicrosPerRequest: number
  /** The same, of the server's main thread alone (NaN where not measured). */
  mainThreadMicrosPerRequest: number
}

/** Drives GET /hello, rotating through the variant's credentials. */
export async function load(
  started: Started,
  options: { connections?: number; seconds?: number; overallRate?: number } = {},
): Promise<Sample> {
  let next = 0
  const result = await autocannon({
    url: `${started.url}/hello`,
    connections: options.connections ?? 10,
    duration: options.seconds ?? SECONDS,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [
      {
        setupRequest: (request) => {
          request.headers = { ...request.headers, ...started.headers[next++ % started.headers.length] }
          return request
        },
      },
    ],
  })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
    requests: result.requests.total,
    cpuMicrosPerRequest: 0,
    mainThreadMicrosPerRequest: Number.NaN,
  }
}

export async function ask<T>(started: Started, message: string | object): Promise<T> {
  started.child.send(message)
  return ((await once(started.child, 'message')) as [T])[0]
}

/** `load`, plus the server's CPU time per request over the same window. */
export async function measure(started: Started, options: Parameters<typeof load>[1] = {}): Promise<Sample> {
  await ask(started, 'reset-cpu')
  const sample = await load(started, options)
  const { cpuMicros, mainThreadMicros } = await ask<{ cpuMicros: number; mainThreadMicros: number }>(
    started,
    'report-cpu',
  )
  const requests = Math.max(1, sample.requests)
  return {
    ...sample,
    cpuMicrosPerRequest: cpuMicros / requests,
    mainThreadMicrosPerRequest: mainThreadMicros / requests,
  }
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
