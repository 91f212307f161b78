import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import express from 'express'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Document, type Filter } from 'tenantry'
import type { FindOptions } from 'tenantry/store'
import { toProblem } from 'tenantry/http'
import { tenantScope } from 'tenantry/express'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'
import { HOST_HEAP_MB, HOST_MAX_TIME_MS, type HostAddresses } from './bounded-host.js'

/**
 * A host route that runs whatever query a tenant sends, the worst a host could do, behind
 * tenantScope: each attack gets a clear problem answer, and the process goes on answering.
 */
async function hostApp() {
  const tenancy = createTenancy({
    store: memoryStore({ strategy: 'shared', collections: { notes: {} }, maxTimeMS: 300 }),
    auth: TEST_AUTH,
  })
  const slugs: string[] = []
  for (const name of ['Attacker', 'Bystander']) {
    const { organization } = await tenancy.orgs.create({
      name,
      email: `admin@${name.toLowerCase()}.test`,
      password: PASSWORD,
    })
    const notes = (await tenancy.tenant({ id: organization.id })).collection('notes')
    await notes.insertMany(
      Array.from({ length: 40 }, (_, i) => ({ text: `${name} note ${i}`, body: 'a'.repeat(33), n: i })),
    )
    slugs.push(organization.slug)
  }
  const app = express()
  app.post(
    '/query',
    tenantScope(tenancy, { from: (req) => ({ slug: String(req.headers['x-tenant']) }) }),
    express.json({ limit: '5mb' }),
    async (req, res) => {
      try {
        const { filter, pipeline, options } = req.body as {
          filter?: Filter
          pipeline?: Document[]
          options?: FindOptions
        }
        const notes = req.tenant.collection('notes')
        res.json(
          pipeline ? await notes.aggregate(pipeline, options).toArray() : await notes.find(filter, options).toArray(),
        )
      } catch (err) {
        const problem = toProblem(err)
        if (!problem) throw err
        res.status(problem.status).set(problem.headers).send(problem.body)
      }
    },
  )
  return { app, slugs }
}

// Each attack, and the codes that may answer it (a runaway stage may meet its size bound or the clock first).
const ATTACKS: [string, Record<string, unknown>, string | string[]][] = [
  [
    'a $range of 200 million numbers',
    { filter: { $expr: { $gt: [{ $size: { $range: [0, 2e8] } }, 0] } } },
    'QUERY_LIMIT',
  ],
  [
    'a $reduce that doubles an array forty times',
    {
      pipeline: [
        {
          $project: {
            x: {
              $reduce: { input: { $range: [0, 40] }, initialValue: [1], in: { $concatArrays: ['$$value', '$$value'] } },
            },
          },
        },
      ],
    },
    ['QUERY_LIMIT', 'QUERY_TIMEOUT'],
  ],
  [
    'a $reduce that doubles a string forty times',
    {
      pipeline: [
        {
          $project: {
            x: { $reduce: { input: { $range: [0, 40] }, initialValue: 'ab', in: { $concat: ['$$value', '$$value'] } } },
          },
        },
      ],
    },
    'QUERY_LIMIT',
  ],
  ['a regular expression with nested quantifiers', { filter: { body: { $regex: '^(a+)+$' } } }, 'QUERY_LIMIT'],
  [
    'a nested-quantifier pattern computed from the document',
    { filter: { $expr: { $regexMatch: { input: '$body', regex: { $concat: ['^(a', '+)+$'] } } } } },
    'QUERY_LIMIT',
  ],
  ['an $in of 200,000 values', { filter: { n: { $in: Array.from({ length: 200_000 }, (_, i) => i) } } }, 'QUERY_LIMIT'],
  [
    'a filter nested 200 levels deep',
    { filter: JSON.parse(`${'{"$and":['.repeat(200)}{}${']}'.repeat(200)}`) },
    'TENANT_ISOLATION',
  ],
  [
    'a $densify of a billion documents',
    { pipeline: [{ $densify: { field: 'n', range: { step: 1e-7, bounds: [0, 100] } } }] },
    ['QUERY_LIMIT', 'QUERY_TIMEOUT'],
  ],
  [
    'a query that runs past maxTimeMS',
    {
      filter: {
        $expr: {
          $gt: [{ $reduce: { input: { $range: [0, 900_000] }, initialValue: 0, in: { $add: ['$$value', 1] } } }, 0],
        },
      },
    },
    'QUERY_TIMEOUT',
  ],
  [
    'a query that runs past its own maxTimeMS',
    {
      filter: {
        $expr: {
          $gt: [{ $reduce: { input: { $range: [0, 200_000] }, initialValue: 0, in: { $add: ['$$value', 1] } } }, 0],
        },
      },
      options: { maxTimeMS: 20 },
    },
    'QUERY_TIMEOUT',
  ],
]

describe('one tenant’s runaway query, on the memory store', () => {
  let server: RunningServer
  let slugs: string[]
  beforeAll(async () => {
    const host = await hostApp()
    slugs = host.slugs
    server = await startServer(host.app)
  })
  afterAll(() => server.close())

  const ask = (slug: string, body: unknown) =>
    fetch(`${server.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tenant': slug },
      body: JSON.stringify(body),
    })

  for (const [label, body, code] of ATTACKS) {
    it(`answers ${label} with ${[code].flat().join(' or ')}, and the next tenant's request as usual`, async () => {
      const [attack, bystander] = await Promise.all([
        ask(slugs[0]!, body),
        ask(slugs[1]!, { filter: { n: { $lt: 3 } } }),
      ])
      expect(attack.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      const problem = (await attack.json()) as { code: string }
      expect([code].flat()).toContain(problem.code)
      expect(attack.status).toBe(problem.code === 'QUERY_TIMEOUT' ? 503 : 400)
      expect(bystander.status).toBe(200)
      expect(await bystander.json()).toHaveLength(3)
    })
  }
})

// Each value under its own cap (1,000,000 elements); together, far past what one operation may make.
const R = { $range: [0, 999_999] }
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value)
const HEAVY: [string, Document][] = [
  [
    '16 sizes of a $setUnion of three 1,000,000-number ranges',
    { $add: times(16, { $size: { $setUnion: [R, R, R] } }) },
  ],
  ['the size of a $setUnion of 60 ranges', { $size: { $setUnion: times(60, R) } }],
  ['the size of a $concatArrays of 60 ranges', { $size: { $concatArrays: times(60, R) } }],
  ['the size of a $setIntersection of 60 ranges', { $size: { $setIntersection: times(60, R) } }],
  ['the size of a $zip of 60 ranges', { $size: { $zip: { inputs: times(60, R) } } }],
  [
    'a $map that makes an object and an array per element',
    { $size: { $map: { input: R, in: { a: '$$this', b: ['$$this', '$$this'] } } } },
  ],
  [
    'a $map that makes a range per element',
    { $size: { $map: { input: R, in: { $size: { $range: [0, { $mod: ['$$this', 1000] }] } } } } },
  ],
  [
    'a $reduce that appends one element at a time',
    { $size: { $reduce: { input: R, initialValue: [], in: { $concatArrays: ['$$value', ['$$this']] } } } },
  ],
]
const BYSTANDER = { pipeline: [{ $match: { n: { $lt: 3 } } }] }

interface Answer {
  status: number
  body: unknown
  ms: number
}

async function post(url: string, slug: string, body: unknown): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(`${url}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tenant': slug },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: await response.json(), ms: performance.now() - started }
}

/** The bystander asks, one request after another, until told to stop; its answers, in order. */
function keepAsking(url: string, slug: string): () => Promise<Answer[]> {
  const answers: Answer[] = []
  let stopped = false
  const loop = (async () => {
    while (!stopped) answers.push(await post(url, slug, BYSTANDER))
  })()
  return async () => {
    // At least one answer after the attack's, so the process is known to serve on.
    const seen = answers.length
    while (answers.length === seen) await new Promise((resolve) => setTimeout(resolve, 5))
    stopped = true
    await loop
    return answers
  }
}

/** The attack answers a typed error in time; the bystander answered throughout, and the process lives. */
async function expectBounded(host: ChildProcess, url: string, slugs: [string, string], body: unknown) {
  const stop = keepAsking(url, slugs[1])
  const attack = await post(url, slugs[0], body)
  const bystander = await stop()
  expect(host.exitCode).toBeNull()
  expect(host.signalCode).toBeNull()
  if (attack.status !== 200) {
    expect(['QUERY_LIMIT', 'QUERY_TIMEOUT']).toContain((attack.body as { code: string }).code)
    expect(attack.status).toBe((attack.body as { code: string }).code === 'QUERY_TIMEOUT' ? 503 : 400)
  }
  expect(attack.ms).toBeLessThan(HOST_MAX_TIME_MS + 100)
  for (const answer of bystander) {
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(3)
    expect(answer.ms).toBeLessThan(HOST_MAX_TIME_MS + 100)
  }
  return attack
}

describe(`one tenant’s expression, in a process with a ${HOST_HEAP_MB} MB heap`, () => {
  let host: ChildProcess
  let addresses: HostAddresses
  beforeAll(async () => {
    host = spawn(
      process.execPath,
      [`--max-old-space-size=${HOST_HEAP_MB}`, '--import', 'tsx', 'test/isolation/bounded-host.ts'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const [line] = (await once(createInterface({ input: host.stdout! }), 'line')) as [string]
    addresses = JSON.parse(line) as HostAddresses
  })
  afterAll(() => {
    host.kill()
  })

  for (const adapter of ['express', 'koa'] as const) {
    for (const [label, expression] of HEAVY) {
      it(`answers ${label} with a typed error within maxTimeMS + 100 ms on ${adapter}, the bystander answering`, async () => {
        const attack = await expectBounded(host, addresses[adapter], addresses.slugs, {
          pipeline: [{ $limit: 1 }, { $project: { s: expression } }],
        })
        expect(attack.status).not.toBe(200)
      })
    }

    it(`answers any nesting of capped arrays in time, or refuses it with a typed error, on ${adapter}`, async () => {
      const range = fc.integer({ min: 0, max: 1_000_000 }).map((n) => ({ $range: [0, n] }))
      const { array } = fc.letrec<{ array: Document }>((tie) => ({
        array: fc.oneof(
          { depthSize: 'small', maxDepth: 4 },
          range,
          fc.tuple(tie('array'), tie('array')).map((pair) => ({ $setDifference: pair })),
          ...['$setUnion', '$setIntersection', '$concatArrays'].map((operator) =>
            fc.array(tie('array'), { minLength: 1, maxLength: 6 }).map((inputs) => ({ [operator]: inputs })),
          ),
          fc.array(tie('array'), { minLength: 1, maxLength: 4 }).map((inputs) => ({ $zip: { inputs } })),
          tie('array').map((input) => ({ $reverseArray: input })),
          tie('array').map((input) => ({ $sortArray: { input, sortBy: -1 } })),
          fc
            .tuple(tie('array'), fc.constantFrom<unknown>('$$this', { k: '$$this' }, ['$$this', '$$this']))
            .map(([input, each]) => ({ $map: { input, in: each } })),
          fc.tuple(tie('array'), tie('array')).map(([input, each]) => ({
            $reduce: { input, initialValue: [], in: { $concatArrays: ['$$value', each] } },
          })),
        ),
      }))
      await fc.assert(
        fc.asyncProperty(fc.array(array, { minLength: 1, maxLength: 4 }), async (arrays) => {
          await expectBounded(host, addresses[adapter], addresses.slugs, {
            pipeline: [{ $limit: 1 }, { $project: { s: { $add: arrays.map((value) => ({ $size: value })) } } }],
          })
        }),
        { numRuns: 25 },
      )
    }, 120_000)
  }
})
