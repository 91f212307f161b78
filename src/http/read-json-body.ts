import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from './http-errors.js'
import type { HttpRequest } from './http-types.js'

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads a JSON body with a byte limit. The limit is enforced on the declared length before
 * reading and again on the bytes actually read, so a chunked upload cannot sneak past it.
 */
export async function readJsonBody(request: HttpRequest, limit: number): Promise<unknown> {
  const declaredLength = Number(request.headers['content-length'] ?? 0)
  const chunked = request.headers['transfer-encoding'] !== undefined
  if (declaredLength === 0 && !chunked) return undefined

  // Checked before a body the host's parser already read is used: a form parser in front
  // (express.urlencoded, @koa/bodyparser) must not turn a cross-site form post into our input.
  const contentType = request.headers['content-type'] ?? ''
  if (!JSON_MEDIA_TYPE.test(contentType))
    throw new UnsupportedMediaTypeError('the request body must be application/json')
  if (request.parsedBody !== undefined) return request.parsedBody
  const encoding = request.headers['content-encoding']
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    throw new UnsupportedMediaTypeError('compressed request bodies are not accepted')
  if (declaredLength > limit) throw new PayloadTooLargeError(limit)

  const chunks: Uint8Array[] = []
  let received = 0
  for await (const chunk of request.body) {
    received += chunk.byteLength
    if (received > limit) throw new PayloadTooLargeError(limit)
    chunks.push(chunk)
  }
  if (received === 0) return undefined

  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
  } catch (err) {
    throw new MalformedJsonError('the request body is not valid UTF-8', { cause: err })
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new MalformedJsonError('the request body is not valid JSON', { cause: err })
  }
}
