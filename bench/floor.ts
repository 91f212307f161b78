/**
 * The no-op floor: `tenantScope` with a cached token against a middleware that only sets a
 * tenant object, by the server's CPU time per request, on Express and on Koa. Target ≥ 0.97×.
 *
 * Each round starts both servers afresh and loads them at the same time, each with its own 10
 * connections, so whatever else this shared machine does in those seconds lands on both alike;
 * the round's ratio is the no-op's CPU per request over tenantry's, and the figure is the median
 * of the rounds. Beside it, in-process (bench/scope-cost.ts), the nanoseconds the scope itself
 * adds with no HTTP around it.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { measure, median, type Sample, SECONDS, startVariant, stop, load } from './variants.js'

export const FLOOR = 0.97
const FRAMEWORKS = ['Express', 'Koa'] as const
type Framework = (typeof FRAMEWORKS)[number]

interface FloorRound {
  noop: Sample
  tenantry: Sample
  /** The no-op's CPU per request over tenantry's: at 1, the scope costs what any middleware does. */
  ratio: number
  /** The same, of the servers' main threads alone. */
  mainThreadRatio: number
}
export interface FloorResult {
  framework: Framework
  rounds: FloorRound[]
  ratio: number
  mainThreadRatio: number
  /** The medians of the rounds, in µs of server CPU per request. */
  noopMicros: number
  tenantryMicros: number
  /** In-process, ns per call: the no-op middleware, and the token scope with a cached token. */
  inProcess: { noop: number; tenantry: number }
}

/** Both variants at once, in fresh processes, over the same SECONDS. */
async function sideBySide(variants: [string, string]): Promise<[Sample, Sample]> {
  const started = await Promise.all(variants.map((variant) => startVariant(variant)))
  try {
    await Promise.all(started.map((server) => load(server, { seconds: 1 }))) // warm-up: JIT and caches
    const [a, b] = await Promise.all(started.map((server) => measure(server)))
    return [a!, b!]
  } finally {
    await Promise.all(started.map(stop))
  }
}

async function inProcess(framework: Framework): Promise<{ noop: number; tenantry: number }> {
  const child = fork(fileURLToPath(new URL('./scope-cost.ts', import.meta.url)), [framework.toLowerCase()], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bench/scope-cost.ts exited with ${code}`)
  return JSON.parse(output) as { noop: number; tenantry: number }
}

export async function measureFloor(rounds: number): Promise<FloorResult[]> {
  const results: FloorResult[] = []
  for (const framework of FRAMEWORKS) {
    const prefix = framework.toLowerCase()
    const list: FloorRound[] = []
    for (let round = 1; round <= rounds; round++) {
      // Started in turn first: neither is always the one that begins a round.
      const order: [string, string] = round % 2 ? ['noop', 'tenantry'] : ['tenantry', 'noop']
      const [first, second] = await sideBySide([`${prefix}-${order[0]}`, `${prefix}-${order[1]}`])
      const [noop, tenantry] = order[0] === 'noop' ? [first, second] : [second, first]
      list.push({
        noop,
        tenantry,
        ratio: noop.cpuMicrosPerRequest / tenantry.cpuMicrosPerRequest,
        mainThreadRatio: noop.mainThreadMicrosPerRequest / tenantry.mainThreadMicrosPerRequest,
      })
      console.error(
        `  floor ${framework} round ${round}/${rounds}: no-op ${noop.cpuMicrosPerRequest.toFixed(1)} µs, tenantry ${tenantry.cpuMicrosPerRequest.toFixed(1)} µs CPU/req → ${list.at(-1)!.ratio.toFixed(3)}× (main thread ${list.at(-1)!.mainThreadRatio.toFixed(3)}×)${noop.errors + tenantry.errors ? `, ${noop.errors + tenantry.errors} errors` : ''}`,
      )
    }
    results.push({
      framework,
      rounds: list,
      ratio: median(list.map((r) => r.ratio)),
      mainThreadRatio: median(list.map((r) => r.mainThreadRatio)),
      noopMicros: median(list.map((r) => r.noop.cpuMicrosPerRequest)),
      tenantryMicros: median(list.map((r) => r.tenantry.cpuMicrosPerRequest)),
      inProcess: await inProcess(framework),
    })
  }
  return results
}

/** The report's section: one row per framework, each round's ratio, and the verdict. */
export function floorSection(results: FloorResult[], rounds: number): string {
  const rows = results.map(
    ({ framework, ratio, mainThreadRatio, noopMicros, tenantryMicros, rounds: list, inProcess: own }) =>
      `| ${framework} | ${noopMicros.toFixed(1)} | ${tenantryMicros.toFixed(1)} | ${list.map((r) => r.ratio.toFixed(3)).join(' · ')} | **${ratio.toFixed(3)}×** ${ratio >= FLOOR ? 'met' : '**NOT met**'} | ${mainThreadRatio.toFixed(3)}× | ${Math.round(own.tenantry - own.noop)} ns |`,
  )
  return `## The no-op floor: \`tenantScope\` (token) against a middleware that only sets an object

Both servers of a round start afresh and take load at the same time (10 connections each,
${SECONDS} s after a 1 s warm-up), so the machine's other work lands on both alike; ${rounds} rounds per
framework. The ratio is the no-op's server CPU per request (\`process.cpuUsage\`) over tenantry's:
≥ ${FLOOR}× is the target, and the run fails below it. µs are medians of the rounds. Beside it, the
same ratio of the main threads alone (without the GC's and compiler's helper threads, which make
most of the round-to-round noise), and what the scope itself adds per call, in-process with no
HTTP around it (bench/scope-cost.ts, a cached token, over the same no-op middleware).

| framework | no-op µs CPU/req | tenantry µs CPU/req | ratio per round | median ratio (≥ ${FLOOR}×) | main thread only | the scope's own cost |
|---|---:|---:|---|---:|---:|---:|
${rows.join('\n')}
`
}

/** Says so on stderr and fails the run (exit code 1) when either framework is under the floor. */
export function enforceFloor(results: FloorResult[]): boolean {
  const under = results.filter(({ ratio }) => ratio < FLOOR)
  for (const { framework, ratio } of under)
    console.error(
      `\n*** NO-OP FLOOR NOT MET: tenantScope on ${framework} is ${ratio.toFixed(3)}× a no-op middleware by server CPU (target ≥ ${FLOOR}×) ***\n`,
    )
  if (under.length > 0) process.exitCode = 1
  return under.length === 0
}
