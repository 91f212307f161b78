// Writes the OpenAPI document of the org routes to a file, for the linter (npm run lint:openapi)
// and for hosts that generate a client from it: `tsx scripts/write-openapi.ts out.json`.
import { writeFileSync } from 'node:fs'
import { createTenancy } from 'tenantry'
import { openApiDocument } from 'tenantry/http'

const out = process.argv[2] ?? 'openapi.json'
// The document does not depend on the secret or the store; any tenancy describes the same routes.
const tenancy = createTenancy({ auth: { secret: 'document-only-secret-document-only-secret' } })
writeFileSync(out, `${JSON.stringify(openApiDocument(tenancy), null, 2)}\n`)
console.log(`wrote ${out}`)
