import express from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy, memoryStore, type Document, type Filter } from 'tenantry'
import type { FindOptions } from 'tenantry/store'
import { toProblem } from 'tenantry/http'
import { tenantScope } from 'tenantry/express'
import { PASSWORD, TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

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
