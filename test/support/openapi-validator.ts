import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import type { OpenApiDocument } from 'tenantry/http'

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }>; headers?: Record<string, unknown> }>
}

/**
 * Checks answers against an OpenAPI document, as a client generated from it would expect them:
 * the status is one the operation declares, the content type is the declared one (none for an
 * empty answer), and the body matches the declared schema. Paths the document does not know
 * (the host's own routes) are not checked.
 */
export function openApiValidator(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  // The whole document is one schema resource, so `#/components/...` references resolve in it.
  ajv.addSchema({ $id: 'doc', ...document })
  const operations: { method: string; pattern: RegExp; path: string; operation: Operation }[] = []
  for (const [path, methods] of Object.entries(document.paths)) {
    const pattern = new RegExp(`^${path.replaceAll('{id}', '[^/]+')}$`)
    for (const [method, operation] of Object.entries(methods))
      operations.push({ method: method.toUpperCase(), pattern, path, operation: operation as unknown as Operation })
  }
  const pointer = (...segments: string[]) =>
    segments.map((segment) => `/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
  const validatorOf = (path: string, method: string, status: string, mediaType: string) => {
    const validate = ajv.getSchema(
      `doc#${pointer('paths', path, method.toLowerCase(), 'responses', status, 'content', mediaType, 'schema')}`,
    )
    if (!validate) throw new Error(`no schema for ${method} ${path} ${status} ${mediaType}`)
    return validate
  }

  return {
    /** `null` when the answer is as documented (or the path is not the document's), else what is wrong. */
    check(method: string, url: string, status: number, headers: Headers, body: unknown): string | null {
      const path = new URL(url, 'http://x').pathname
      const found = operations.find((entry) => entry.method === method.toUpperCase() && entry.pattern.test(path))
      if (!found) return null
      const declared = found.operation.responses[String(status)]
      if (!declared)
        return `${method} ${found.path} answered ${status}, which the document does not declare (${Object.keys(found.operation.responses).join(', ')})`
      for (const header of Object.keys(declared.headers ?? {})) {
        // A Bearer challenge comes with the token problems and a missing permission, not with (say) bad credentials.
        const code = (body as { code?: string } | undefined)?.code ?? ''
        const required = header !== 'WWW-Authenticate' || code.startsWith('TOKEN_') || code === 'PERMISSION_DENIED'
        if (required && headers.get(header) === null)
          return `${method} ${found.path} ${status} lacks the ${header} header the document declares`
      }
      const contentType = headers.get('content-type')?.split(';')[0] ?? null
      if (!declared.content)
        return contentType === null && body === undefined
          ? null
          : `${method} ${found.path} ${status} should have no body, but has ${contentType}`
      const media = contentType === null ? undefined : declared.content[contentType]
      if (!media)
        return `${method} ${found.path} ${status} answered ${contentType}, the document says ${Object.keys(declared.content).join(', ')}`
      const validate = validatorOf(found.path, method, String(status), contentType!)
      return validate(body)
        ? null
        : `${method} ${found.path} ${status}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body).slice(0, 300)}`
    },
  }
}
