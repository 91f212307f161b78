import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import express from 'express'
import openapiTS, { astToString } from 'openapi-typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTenancy } from 'tenantry'
import { orgRouter } from 'tenantry/express'
import { TEST_AUTH } from '../support/secret.js'
import { startServer, type RunningServer } from '../support/start-server.js'

const run = promisify(execFile)
const root = resolve(import.meta.dirname, '../..')

// What a client developer writes against the generated types: any field or path the document
// does not have is a compile error here, before it is a runtime one.
const CLIENT = `
import createClient from 'openapi-fetch'
import type { paths } from './api.js'

const client = createClient<paths>({ baseUrl: process.argv[2] })
const created = await client.POST('/org/create', { body: { organization_name: 'Acme', email: 'ada@acme.test', password: 'correct horse battery' } })
if (!created.data) throw new Error('create failed: ' + JSON.stringify(created.error))
const slug: string = created.data.organization.slug
const login = await client.POST('/admin/login', { body: { email: 'ada@acme.test', password: 'correct horse battery' } })
if (!login.data) throw new Error('login failed: ' + JSON.stringify(login.error))
const token: string = login.data.access_token
const members = await client.GET('/org/members', { headers: { authorization: 'Bearer ' + token } })
const found = await client.GET('/org/get', { params: { query: { slug } } })
const wrong = await client.POST('/admin/login', { body: { email: 'ada@acme.test', password: 'not the password' } })
const code: string | undefined = wrong.error?.code
console.log(JSON.stringify({ name: found.data?.organization.name, roles: members.data?.members.map((member) => member.role), code }))
`

describe('a client generated from the served document', () => {
  let server: RunningServer
  let dir: string
  beforeAll(async () => {
    server = await startServer(express().use(orgRouter(createTenancy({ auth: TEST_AUTH }))))
    // Inside the project, so the client resolves openapi-fetch from its node_modules.
    dir = mkdtempSync(join(root, 'test-results-client-'))
  })
  afterAll(async () => {
    await server?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('type-checks with openapi-typescript and openapi-fetch, and creates, logs in and reads for real', async () => {
    const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as Parameters<typeof openapiTS>[0]
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(document)))
    writeFileSync(join(dir, 'client.ts'), CLIENT)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['client.ts'],
      }),
    )
    await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir])
    const { stdout } = await run(
      process.execPath,
      [join(root, 'node_modules/tsx/dist/cli.mjs'), join(dir, 'client.ts'), server.url],
      { cwd: dir },
    )
    expect(JSON.parse(stdout)).toEqual({ name: 'Acme', roles: ['owner'], code: 'INVALID_CREDENTIALS' })
  }, 60_000)

  it('fails to type-check a client that reads a field, or sends a value, the document does not have', async () => {
    for (const [from, to, name] of [
      ['created.data.organization.slug', 'created.data.organization.subdomain', 'subdomain'],
      ["organization_name: 'Acme'", 'organization_name: 42', "Type 'number' is not assignable to type 'string'"],
      ["client.GET('/org/members'", "client.GET('/org/people'", '/org/people'],
    ]) {
      writeFileSync(join(dir, 'client.ts'), CLIENT.replace(from!, to!))
      await expect(
        run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir]),
      ).rejects.toMatchObject({ stdout: expect.stringContaining(name!) })
    }
  }, 60_000)
})
