/**
 * `npm run bench`: every server variant runs in its own child process and is driven by
 * autocannon from this one. Variants of one comparison alternate round by round, so drift in a
 * shared, noisy machine hits them alike; each figure is the median of its rounds, and every
 * target is a ratio between variants measured in this same run. The no-op floor (bench/floor.ts)
 * loads its two servers side by side instead, and fails the run (exit code 1) when tenantry is
 * under it on either framework; `npm run bench -- floor` measures that alone.
 *
 * BENCH_ROUNDS (default 3), BENCH_FLOOR_ROUNDS (default 7) and BENCH_SECONDS (default 5) set the length.
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { enforceFloor, FLOOR, floorSection, measureFloor } from './floor.js'
import { ask, load, measure, median, type Sample, SECONDS, startVariant, stop } from './variants.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const FLOOR_ROUNDS = Number(process.env.BENCH_FLOOR_ROUNDS ?? 7)

if (process.argv[2] === 'floor') {
  console.error(`tenantry bench, the no-op floor alone: ${FLOOR_ROUNDS} rounds of ${SECONDS} s per framework`)
  const floor = await measureFloor(FLOOR_ROUNDS)
  console.log(floorSection(floor, FLOOR_ROUNDS))
  enforceFloor(floor)
  process.exit()
}
const SCALE = Number(process.env.BENCH_SCALE ?? 100_000)
const LOGIN_RATE = 200
type Summary = Sample & { rounds: Sample[]; memoryPerOrganizationBytes?: number }

/** Runs `variants` in alternation for ROUNDS rounds; returns the median sample of each, and its rounds. */
async function compare(
  variants: { name: string; variant: string; organizations?: number }[],
): Promise<Map<string, Summary>> {
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]))
  const memory = new Map<string, number | undefined>()
  for (let round = 1; round <= ROUNDS; round++) {
    for (const { name, variant, organizations } of variants) {
      const started = await startVariant(variant, organizations)
      memory.set(name, started.memoryPerOrganizationBytes)
      await load(started, { seconds: 1 }) // warm-up: JIT and caches, not measured
      const sample = await measure(started)
      samples.get(name)!.push(sample)
      await stop(started)
      console.error(
        `  round ${round}/${ROUNDS} ${name}: ${sample.rps.toFixed(0)} req/s, p99 ${sample.p99} ms, ${sample.cpuMicrosPerRequest.toFixed(1)} µs CPU/req${sample.errors ? `, ${sample.errors} errors` : ''}`,
      )
    }
  }
  const summary = new Map<string, Summary>()
  for (const [name, list] of samples) {
    summary.set(name, {
      rounds: list,
      rps: median(list.map((s) => s.rps)),
      p50: median(list.map((s) => s.p50)),
      p99: median(list.map((s) => s.p99)),
      errors: list.reduce((sum, s) => sum + s.errors, 0),
      requests: median(list.map((s) => s.requests)),
      cpuMicrosPerRequest: median(list.map((s) => s.cpuMicrosPerRequest)),
      mainThreadMicrosPerRequest: median(list.map((s) => s.mainThreadMicrosPerRequest)),
      memoryPerOrganizationBytes: memory.get(name),
    })
  }
  return summary
}

/** ns per awaited call, plain and through tenancy.run, each in fresh processes, alternating. */
async function runCost(): Promise<{ plain: number; run: number }> {
  const rounds: Record<'plain' | 'run', number[]> = { plain: [], run: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of ['plain', 'run'] as const) {
      const child = fork(fileURLToPath(new URL('./context-cost.ts', import.meta.url)), [mode], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const [{ nsPerCall }] = (await once(child, 'message')) as [{ nsPerCall: number }]
      await once(child, 'exit')
      rounds[mode].push(nsPerCall)
    }
  }
  return { plain: median(rounds.plain), run: median(rounds.run) }
}

/** Per operation and tenant count (1, 1000): ops/s bare and scoped, and their ratio. */
type WrapperRun = Record<
  'findOne' | 'countDocuments' | 'lookup' | 'insertOne',
  Record<'1' | '1000', { bare: number; scoped: number; ratio: number }>
>

/** A bench script in a process of its own, its JSON output parsed; a failed run stops the bench. */
async function runJson<TResult>(script: string): Promise<TResult> {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk))
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`bench/${script.slice(2)} exited with ${code}`)
  return JSON.parse(output) as TResult
}

/** A tenant's collection on 'shared' against the bare collection of its documents. */
const collectionWrapper = () => runJson<WrapperRun>('./collection.ts')

interface PostgresRun {
  query: { bare: number; rls: number; schema: number; rlsRatio: number; schemaRatio: number }
  authenticate: { postgres: number; memory: number; ratio: number; statementsPerCall: number }
  loginsPerSecond: number
  readsFor100ConcurrentColdLookups: number
  readsForUnknownFirstPass: number
  readsForUnknownSecondPass: number
}

/** Against the local PostgreSQL. */
const postgresRun = () => runJson<PostgresRun>('./postgres.ts')

async function loginStorm(variant: string) {
  const started = await startVariant(variant)
  // The cheap route alone, at a fixed rate, for reference.
  await load(started, { seconds: 1, overallRate: 500, connections: 5 })
  const calm = await load(started, { overallRate: 500, connections: 5 })
  await ask(started, 'reset-delay')
  // LOGIN_RATE logins a second, over ten times what bcrypt at cost 10 hashes here, from
  // another process, alongside the same cheap route.
  const flood = fork(
    fileURLToPath(new URL('./login-flood.ts', import.meta.url)),
    [`${started.url}/admin/login`, String(SECONDS + 2), String(LOGIN_RATE)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  )
  await new Promise((resolve) => setTimeout(resolve, 1000)) // let the queue fill first
  const cheap = await load(started, { overallRate: 500, connections: 5 })
  const delay = await ask<{ delayP99Ms: number; delayMaxMs: number }>(started, 'report-delay')
  const [logins] = (await once(flood, 'message')) as [
    { ok: number; refused: number; p99: number; timeouts: number; duration: number },
  ]
  await stop(started)
  return {
    calm,
    cheap,
    delay,
    logins: {
      ok: logins.ok / logins.duration,
      refused: logins.refused / logins.duration,
      p99: logins.p99,
      timeouts: logins.timeouts,
    },
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const verdict = (ok: boolean) => (ok ? 'met' : '**NOT met**')

console.error(`tenantry bench: ${ROUNDS} rounds of ${SECONDS} s per variant`)
console.error('throughput (Express)…')
const express = await compare([
  { name: 'bare', variant: 'express-bare' },
  { name: 'noop', variant: 'express-noop' },
  { name: 'tenantry', variant: 'express-tenantry' },
  { name: 'host', variant: 'express-tenantry-host' },
  { name: 'resolver', variant: 'express-tenantry-resolver' },
  { name: 'member', variant: 'express-tenantry-member' },
  { name: 'context', variant: 'express-tenantry-context' },
  { name: 'jsonwebtoken', variant: 'express-jsonwebtoken' },
  { name: 'better-auth', variant: 'express-better-auth' },
])
console.error('throughput (Koa)…')
const koa = await compare([
  { name: 'bare', variant: 'koa-bare' },
  { name: 'noop', variant: 'koa-noop' },
  { name: 'tenantry', variant: 'koa-tenantry' },
  { name: 'host', variant: 'koa-tenantry-host' },
  { name: 'resolver', variant: 'koa-tenantry-resolver' },
  { name: 'member', variant: 'koa-tenantry-member' },
  { name: 'context', variant: 'koa-tenantry-context' },
])
console.error('the no-op floor, side by side…')
const floor = await measureFloor(FLOOR_ROUNDS)
console.error('tenancy.run per call…')
const contextCost = await runCost()
console.error('the shared strategy’s collection wrapper…')
const wrapper = await collectionWrapper()
console.error(`scale (10 vs ${SCALE.toLocaleString('en-US')} organizations)…`)
const scale = await compare([
  { name: 'small', variant: 'express-tenantry', organizations: 10 },
  { name: 'large', variant: 'express-tenantry', organizations: SCALE },
])
console.error('PostgreSQL…')
const postgres = await postgresRun()
console.error('login storm…')
const storm = await loginStorm('login-storm')
const uncapped = await loginStorm('login-storm-uncapped')

/**
 * The median of the per-round ratios: both variants of a round ran back to back, so a ratio
 * within a round cancels the drift between rounds that a ratio of medians would keep.
 */
const ratio = (a: Summary, b: Summary) => median(a.rounds.map((sample, i) => sample.rps / b.rounds[i]!.rps))
/**
 * The same comparison by the server's CPU time per request (b's over a's, so above 1 means a is
 * cheaper): what the throughput ratio would be if the server alone were the limit, and far
 * steadier here, where the load generator and other tenants of the machine share two cores.
 */
const cpuRatio = (a: Summary, b: Summary) =>
  median(a.rounds.map((sample, i) => b.rounds[i]!.cpuMicrosPerRequest / sample.cpuMicrosPerRequest))
const row = (label: string, s: Summary, base: Summary) =>
  `| ${label} | ${fmt(s.rps)} | ${s.p50} | ${s.p99} | ${fmt(ratio(s, base), 2)}× | ${fmt(s.cpuMicrosPerRequest, 1)} | ${fmt(cpuRatio(s, base), 3)}× | ${s.errors} |`
const e = (name: string) => express.get(name)!
const k = (name: string) => koa.get(name)!
const scopeVariants = [
  ['token', 'tenantry'],
  ['host', 'host'],
  ['resolver', 'resolver'],
  ['member (a host user)', 'member'],
] as const
const ratios = {
  express: ratio(e('tenantry'), e('bare')),
  koa: ratio(k('tenantry'), k('bare')),
  betterAuth: ratio(e('tenantry'), e('better-auth')),
  jsonwebtoken: ratio(e('tenantry'), e('jsonwebtoken')),
  scale: ratio(scale.get('large')!, scale.get('small')!),
}
const errors = [...express.values(), ...koa.values(), ...scale.values()].reduce((sum, s) => sum + s.errors, 0)

const CONCURRENCY_NOTE = '8 at a time for half of BENCH_SECONDS'
const report = `# Benchmark results

${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${fmt(totalmem() / 2 ** 30)} GiB ·
${ROUNDS} rounds × ${SECONDS} s per variant, 10 connections. req/s and latencies are medians of the rounds;
ratios are medians of the per-round ratios (variants of a round run back to back). Produced by \`npm run bench\`.

Every variant serves \`GET /hello\` → \`{"hello": <tenant name>}\` from its own process. "server CPU
µs/req" is the CPU time the server process spent per answered request over the measured window;
"by CPU" ratios compare those (the throughput the server alone would allow), which the load
generator and the machine's other tenants disturb far less than they disturb req/s.

## Express

| variant | req/s | p50 ms | p99 ms | vs bare | server CPU µs/req | vs bare, by CPU | non-2xx/errors |
|---|---:|---:|---:|---:|---:|---:|---:|
${row('bare route, no auth', e('bare'), e('bare'))}
${row('one middleware that sets a tenant object (the floor any middleware pays)', e('noop'), e('bare'))}
${row('tenantry `tenantScope` (token)', e('tenantry'), e('bare'))}
${row("tenantry `tenantScope({ from: 'host' })`", e('host'), e('bare'))}
${row('tenantry `tenantScope({ from: (req) => ({ id }) })`', e('resolver'), e('bare'))}
${row('tenantry `tenantScope({ from, member })` (a host user, membership checked)', e('member'), e('bare'))}
${row('tenantry `tenantScope({ context: true })` (token, AsyncLocalStorage)', e('context'), e('bare'))}
${row('jsonwebtoken, string secret + Map lookup', e('jsonwebtoken'), e('bare'))}
${row('Better Auth: getSession + getFullOrganization (memory adapter)', e('better-auth'), e('bare'))}

## Koa

| variant | req/s | p50 ms | p99 ms | vs bare | server CPU µs/req | vs bare, by CPU | non-2xx/errors |
|---|---:|---:|---:|---:|---:|---:|---:|
${row('bare route, no auth', k('bare'), k('bare'))}
${row('one middleware that sets a tenant object', k('noop'), k('bare'))}
${row('tenantry `tenantScope` (token)', k('tenantry'), k('bare'))}
${row("tenantry `tenantScope({ from: 'host' })`", k('host'), k('bare'))}
${row('tenantry `tenantScope({ from: (ctx) => ({ id }) })`', k('resolver'), k('bare'))}
${row('tenantry `tenantScope({ from, member })` (a host user, membership checked)', k('member'), k('bare'))}
${row('tenantry `tenantScope({ context: true })` (token, AsyncLocalStorage)', k('context'), k('bare'))}

${floorSection(floor, FLOOR_ROUNDS)}
## What the tenant context costs

\`tenancy.run(tenant, fn)\` against awaiting \`fn(tenant)\` directly, each in fresh processes
(once AsyncLocalStorage is in use, Node 20 tracks every promise in the process), ${ROUNDS} rounds of 200,000 calls:
${fmt(contextCost.plain)} ns vs ${fmt(contextCost.run)} ns per call, so **${fmt(contextCost.run - contextCost.plain)} ns per \`tenancy.run\`**.
Per request, \`tenantScope({ context: true })\` against the same scope without it: ${fmt(ratio(e('context'), e('tenantry')), 3)}× on Express,
${fmt(ratio(k('context'), k('tenantry')), 3)}× on Koa.

## A tenant's collection on the memory store's \`'shared'\`

\`tenant.collection(name)\` on \`'shared'\` (the allow-list, the tenant's partition) against the same call
on a bare in-memory collection holding only that tenant's documents (500 notes, 20 projects), with
1 and with 1,000 tenants in the store, in one process, ${ROUNDS} rounds; calls alternate op by op and
each side's slowest 1% (major GCs) is left out.

| operation | tenants | bare ops/s | scoped ops/s | ratio (target ≥ 0.9×) |
|---|---:|---:|---:|---:|
${(['findOne', 'countDocuments', 'lookup', 'insertOne'] as const)
  .flatMap((op) =>
    (['1', '1000'] as const).map((tenants) => {
      const row = wrapper[op][tenants]
      const label = {
        findOne: '`findOne({ _id })`',
        countDocuments: '`countDocuments({ n: { $lt: 100 } })`',
        lookup: 'two-collection `$lookup`',
        insertOne: '`insertOne(doc)`',
      }[op]
      return `| ${label} | ${fmt(Number(tenants))} | ${fmt(row.bare)} | ${fmt(row.scoped)} | ${fmt(row.ratio, 3)}× ${verdict(row.ratio >= 0.9)} |`
    }),
  )
  .join('\n')}

## Scale: scoped route (Express) with 10 and ${fmt(SCALE)} organizations in the in-memory store

Requests rotate through up to 1,000 tokens of different tenants.

| organizations | req/s | p50 ms | p99 ms | vs 10 | memory per organization |
|---|---:|---:|---:|---:|---:|
| 10 | ${fmt(scale.get('small')!.rps)} | ${scale.get('small')!.p50} | ${scale.get('small')!.p99} | 1.00× | |
| ${fmt(SCALE)} | ${fmt(scale.get('large')!.rps)} | ${scale.get('large')!.p50} | ${scale.get('large')!.p99} | ${fmt(ratios.scale, 2)}× | ${fmt(scale.get('large')!.memoryPerOrganizationBytes ?? 0)} bytes |

## PostgreSQL (the local server)

One row by primary key, ${CONCURRENCY_NOTE}: a bare \`pool.query\` against \`tenant.query\`, which is one
round trip (\`begin\`, the role and tenant settings in one \`select\`, the statement, \`commit\` and
\`discard all\`, five statements under one Sync), in one process, ${ROUNDS} rounds alternating.

| measure | result | |
|---|---:|---|
| bare \`pool.query\` | ${fmt(postgres.query.bare)} queries/s | |
| \`tenant.query\` on \`'rls'\` | ${fmt(postgres.query.rls)} queries/s, ${fmt(postgres.query.rlsRatio, 3)}× bare | ${verdict(postgres.query.rlsRatio >= 0.6)} (≥ 0.6×) |
| \`tenant.query\` on \`'schema'\` | ${fmt(postgres.query.schema)} queries/s, ${fmt(postgres.query.schemaRatio, 3)}× bare | ${verdict(postgres.query.schemaRatio >= 0.6)} (≥ 0.6×) |
| cached \`authenticate\`, PostgreSQL records vs memory | ${fmt(postgres.authenticate.ratio, 3)}×; ${fmt(postgres.authenticate.statementsPerCall * 1e6, 1)} statements per million calls (re-reads once the 5 s TTL passes) | ${verdict(postgres.authenticate.statementsPerCall < 1e-4 && postgres.authenticate.ratio >= 0.9)} (no round trip on a cached request) |
| logins (bcrypt cost 4), one client | ${fmt(postgres.loginsPerSecond)}/s | |
| record reads for 100 concurrent lookups of one organization, cold cache | ${postgres.readsFor100ConcurrentColdLookups} | ${verdict(postgres.readsFor100ConcurrentColdLookups === 1)} (single flight) |
| record reads for 10,000 made-up subdomains, first pass / again within the TTL | ${fmt(postgres.readsForUnknownFirstPass)} / ${fmt(postgres.readsForUnknownSecondPass)} | ${verdict(postgres.readsForUnknownSecondPass === 0)} (remembered) |

## Login storm

${LOGIN_RATE} logins a second over 100 connections (bcrypt cost 10, default hashing queue, login throttling off so
every login reaches bcrypt) while a cheap route takes 500 req/s.

The logins come from a separate process, so the client that measures the cheap route is not
stalled by the one flooding logins. Baseline: the same storm with bcrypt uncapped (4 at once,
libuv's thread pool), measured in this run.

| measure | tenantry (default cap: ${Math.max(1, cpus().length - 1)} at once) | uncapped (4 at once) |
|---|---:|---:|
| cheap route p50 / p99, no storm | ${storm.calm.p50} / ${storm.calm.p99} ms | ${uncapped.calm.p50} / ${uncapped.calm.p99} ms |
| cheap route p50 / p99, during the storm | ${storm.cheap.p50} / ${storm.cheap.p99} ms | ${uncapped.cheap.p50} / ${uncapped.cheap.p99} ms |
| event loop delay p99 / max, during the storm | ${fmt(storm.delay.delayP99Ms, 1)} / ${fmt(storm.delay.delayMaxMs, 1)} ms | ${fmt(uncapped.delay.delayP99Ms, 1)} / ${fmt(uncapped.delay.delayMaxMs, 1)} ms |
| logins answered 200 / 429 per second | ${fmt(storm.logins.ok, 1)} / ${fmt(storm.logins.refused, 1)} | ${fmt(uncapped.logins.ok, 1)} / ${fmt(uncapped.logins.refused, 1)} |
| login p99 | ${storm.logins.p99} ms | ${uncapped.logins.p99} ms |

## Targets

| target | measured | |
|---|---:|---|
| tenantry ≥ 0.9× bare, Express | ${fmt(ratios.express, 3)}× | ${verdict(ratios.express >= 0.9)} |
| tenantry ≥ 0.9× bare, Koa | ${fmt(ratios.koa, 3)}× | ${verdict(ratios.koa >= 0.9)} |
${floor.map(({ framework, ratio: floorRatio }) => `| \`tenantScope\` token ≥ ${FLOOR}× a middleware that sets an object, ${framework}, by server CPU, side by side (the no-op floor above; fails the run) | ${fmt(floorRatio, 3)}× | ${verdict(floorRatio >= FLOOR)} |`).join('\n')}
${scopeVariants
  .flatMap(([label, name]) =>
    (
      [
        ['Express', e(name), e('noop')],
        ['Koa', k(name), k('noop')],
      ] as const
    ).map(
      ([framework, variant, noop]) =>
        `| \`tenantScope\` ${label} ≥ ${FLOOR}× a middleware that sets an object, ${framework}, by server CPU, in alternation (throughput: ${fmt(ratio(variant, noop), 3)}×) | ${fmt(cpuRatio(variant, noop), 3)}× | ${verdict(cpuRatio(variant, noop) >= FLOOR)} |`,
    ),
  )
  .join('\n')}
| tenantry ≥ 5× Better Auth | ${fmt(ratios.betterAuth, 2)}× | ${verdict(ratios.betterAuth >= 5)} |
| tenantry vs jsonwebtoken with a string secret (no target) | ${fmt(ratios.jsonwebtoken, 2)}× | |
| cheap route p99 < 20 ms during a login storm | ${storm.cheap.p99} ms | ${verdict(storm.cheap.p99 < 20)} |
| event loop delay p99 < 10 ms during a login storm | ${fmt(storm.delay.delayP99Ms, 1)} ms | ${verdict(storm.delay.delayP99Ms < 10)} |
| ${fmt(SCALE)} organizations within 10% of 10 | ${fmt(ratios.scale, 3)}× | ${verdict(ratios.scale >= 0.9)} |
| no failed requests in the throughput runs | ${errors} | ${verdict(errors === 0)} |
`

console.log(report)
if (process.env.BENCH_WRITE !== '0') writeFileSync(new URL('./RESULTS.md', import.meta.url), report)
enforceFloor(floor)
