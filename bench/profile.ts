/**
 * `npx tsx bench/profile.ts [variant ...]`: where a request's server CPU goes. Each variant
 * (default: `express-noop express-tenantry`; `koa-noop koa-tenantry` for Koa) runs in its own
 * process, all of them at once, profiled by V8's sampling profiler (what `--cpu-prof` writes,
 * started after the warm-up) while autocannon drives it; the profile's samples are then summed by where
 * their function lives (tenantry, the framework, Node's HTTP, the garbage collector, ...) and
 * divided by the requests answered, so two variants' rows subtract into what one costs more.
 *
 * BENCH_SECONDS (default 5) sets the load's length, PROFILE_INTERVAL (default 250) the sampling
 * interval in µs (a shorter one costs the servers more than tenantry does), PROFILE_TOP (default 25) how many of the
 * hottest functions to list per variant.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ask, load, startVariant, stop } from './variants.js'

const TOP = Number(process.env.PROFILE_TOP ?? 25)
const variants = process.argv.slice(2)
if (variants.length === 0) variants.push('express-noop', 'express-tenantry')
const root = fileURLToPath(new URL('..', import.meta.url))

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Profiles `variant` over SECONDS of load, after a warm-up it does not count; its profile and requests. */
async function profileVariant(variant: string, dir: string): Promise<{ profile: Profile; requests: number }> {
  const started = await startVariant(variant)
  try {
    await load(started, { seconds: 1 }) // warm-up: JIT and caches
    const file = join(dir, `${variant}.cpuprofile`)
    await ask(started, { profile: 'start', file })
    const { requests } = await load(started)
    await ask(started, { profile: 'stop', file })
    return { profile: JSON.parse(readFileSync(file, 'utf8')) as Profile, requests }
  } finally {
    await stop(started)
  }
}

/** Where a function lives, coarsely: what the per-request microseconds are summed by. */
function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)'
  if (url.startsWith('node:')) return url.startsWith('node:_http') || url.startsWith('node:http') ? 'node:http' : 'node'
  const local = url.replace(/^file:\/\//, '')
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(local)?.[1]
  if (module) return module
  if (local.startsWith(root)) return `tenantry ${local.slice(root.length).split('/')[0]}`
  return 'other'
}

interface Summary {
  busy: number
  areas: Map<string, number>
  functions: Map<string, number>
}

/** Self time per area and per function, in µs per request; idle time left out. */
function summarize(profile: Profile, requests: number): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const areas = new Map<string, number>()
  const functions = new Map<string, number>()
  const add = (map: Map<string, number>, key: string, micros: number) => map.set(key, (map.get(key) ?? 0) + micros)
  for (const [i, id] of profile.samples.entries()) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame
    if (functionName === '(idle)') continue
    const micros = (profile.timeDeltas[i] ?? 0) / requests
    add(areas, area(url, functionName), micros)
    add(
      functions,
      `${functionName || '(anonymous)'} ${url.replace(/^file:\/\//, '').replace(root, '')}:${lineNumber + 1}`,
      micros,
    )
  }
  return { busy: [...areas.values()].reduce((sum, micros) => sum + micros, 0), areas, functions }
}

const table = (rows: [string, number][], heading: string) =>
  [`| ${heading} | µs/req |`, '|---|---:|', ...rows.map(([name, micros]) => `| ${name} | ${micros.toFixed(2)} |`)].join(
    '\n',
  )
const largest = (map: Map<string, number>, count = Number.POSITIVE_INFINITY) =>
  [...map].sort((a, b) => Math.abs(b[1]) - Math.abs(a[1])).slice(0, count)

function difference(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>()
  for (const key of new Set([...a.keys(), ...b.keys()])) result.set(key, (a.get(key) ?? 0) - (b.get(key) ?? 0))
  return result
}

const summaries = new Map<string, Summary>()
const dir = mkdtempSync(join(tmpdir(), 'tenantry-profile-'))
// All variants at once, as the floor is measured: the machine's other work lands on each alike.
const profiled = await Promise.all(variants.map((variant) => profileVariant(variant, dir)))
rmSync(dir, { recursive: true })
for (const [i, variant] of variants.entries()) {
  const { profile, requests } = profiled[i]!
  const summary = summarize(profile, requests)
  summaries.set(variant, summary)
  console.log(`\n## ${variant}: ${requests} requests, ${summary.busy.toFixed(2)} µs sampled CPU/req\n`)
  console.log(table(largest(summary.areas), 'where'))
  console.log(`\n${table(largest(summary.functions, TOP), 'function (self time)')}`)
}
// What each scope costs over its framework's no-op middleware, where it goes.
for (const [variant, summary] of summaries) {
  const floor = summaries.get(variant.replace(/-tenantry.*$/, '-noop'))
  if (!floor || floor === summary) continue
  console.log(
    `\n## ${variant} minus ${variant.replace(/-tenantry.*$/, '-noop')}: ${(summary.busy - floor.busy).toFixed(2)} µs/req\n`,
  )
  console.log(table(largest(difference(summary.areas, floor.areas)), 'where'))
  console.log(`\n${table(largest(difference(summary.functions, floor.functions), TOP), 'function (self time)')}`)
}
