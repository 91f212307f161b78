import { randomBytes } from 'node:crypto'

/** JWT_SECRET, or a random one for this run only (every token dies with the process). */
export function exampleSecret(): string {
  if (process.env.JWT_SECRET) return process.env.JWT_SECRET
  console.warn('JWT_SECRET is not set: using a random secret, so tokens stop working when this process exits.')
  return randomBytes(32).toString('base64url')
}

export function printTryIt(framework: string, port: number): void {
  const base = `http://localhost:${port}`
  console.log(`tenantry ${framework} example listening on ${base}

Try it:
  curl -s -X POST ${base}/org/create -H 'content-type: application/json' \\
    -d '{"organization_name":"Acme","email":"admin@acme.test","password":"correct horse battery"}'
  TOKEN=$(curl -s -X POST ${base}/admin/login -H 'content-type: application/json' \\
    -d '{"email":"admin@acme.test","password":"correct horse battery"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  curl -s -X POST ${base}/notes -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"text":"hello"}'
  curl -s ${base}/notes -H "authorization: Bearer $TOKEN"
  curl -s '${base}/org/get?organization_name=acme'
`)
}
