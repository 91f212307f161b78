import { request } from 'node:http'

export interface HostReply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: any
}

/**
 * A request with a Host header of the test's choosing (fetch always sends the real one), as a
 * browser on acme.example.test would, or as an attacker spoofing it.
 */
export function requestWithHost(
  serverUrl: string,
  path: string,
  options: { host: string; method?: string; headers?: Record<string, string>; json?: unknown },
): Promise<HostReply> {
  const url = new URL(serverUrl)
  const body = options.json === undefined ? undefined : JSON.stringify(options.json)
  const headers: Record<string, string> = { ...options.headers, host: options.host }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    // Node sends a DELETE body neither chunked nor with a length unless told.
    headers['content-length'] = String(Buffer.byteLength(body))
  }
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString()
          let parsed: unknown = text
          try {
            parsed = text === '' ? undefined : JSON.parse(text)
          } catch {
            // Not JSON: keep the text.
          }
          resolve({ status: res.statusCode!, headers: res.headers, body: parsed })
        })
      },
    )
    req.on('error', reject)
    req.end(body)
  })
}
