/**
 * What `tenancy.run` costs per call, in a process of its own: `plain` awaits an async no-op
 * function N times; `run` awaits the same function through `tenancy.run`. Separate processes,
 * because once AsyncLocalStorage is in use Node 20 tracks every promise in the process, which
 * would slow the plain loop too and hide part of the cost.
 */
import { createTenancy } from 'tenantry'
import { PASSWORD, SECRET } from './constants.js'

const [mode = 'plain', iterations = '200000'] = process.argv.slice(2)
const count = Number(iterations)
const tenancy = createTenancy({ auth: { secret: SECRET, bcryptCost: 4 } })
await tenancy.orgs.create({ name: 'Org 0', email: 'a@bench.test', password: PASSWORD })
const tenant = await tenancy.tenant({ slug: 'org-0' })
const work = async (t: { id: string }) => t.id

async function loop(): Promise<number> {
  const start = process.hrtime.bigint()
  if (mode === 'run') for (let i = 0; i < count; i++) await tenancy.run(tenant, work)
  else for (let i = 0; i < count; i++) await work(tenant)
  return Number(process.hrtime.bigint() - start) / count
}

await loop() // warm-up: JIT
process.send!({ nsPerCall: await loop() })
