import { z } from 'zod'
import { ValidationError } from '../errors.js'

/** `createTenancy({ metadata })`: what an organization's metadata may hold. */
export interface MetadataOptions {
  /** A zod schema the metadata must pass (its output is what is stored). Default: any JSON object. */
  schema?: z.ZodType<Record<string, unknown>>
  /** The largest metadata, as JSON, in bytes. Default 8 KiB. */
  maxBytes?: number
}

const MAX_DEPTH = 16

/**
 * Checks metadata as the host configured it: a JSON object (no `$`-led or dotted keys, which
 * document stores read as operators and paths), within `maxBytes`, then the host's schema.
 */
export function metadataChecker(options: MetadataOptions = {}): (value: unknown) => Record<string, unknown> {
  const { schema, maxBytes = 8 * 1024 } = options
  if (schema !== undefined && typeof (schema as { safeParse?: unknown })?.safeParse !== 'function')
    throw new TypeError('tenantry: metadata.schema must be a zod schema')
  if (!Number.isInteger(maxBytes) || maxBytes <= 0)
    throw new TypeError('tenantry: metadata.maxBytes must be a positive whole number of bytes')
  return (value) => {
    if (!isPlainObject(value)) throw invalid('must be a JSON object')
    const problem = jsonProblem(value, 0)
    if (problem) throw invalid(problem)
    if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) throw invalid(`must be at most ${maxBytes} bytes as JSON`)
    if (!schema) return structuredClone(value)
    const parsed = schema.safeParse(value)
    if (!parsed.success) throw invalid(z.prettifyError(parsed.error))
    return parsed.data
  }
}

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `nests deeper than ${MAX_DEPTH} levels`
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'holds a number JSON cannot carry'
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = jsonProblem(item, depth + 1)
      if (problem) return problem
    }
    return undefined
  }
  if (!isPlainObject(value)) return 'holds something other than JSON'
  for (const [key, item] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.'))
      return `has a key starting with $ or holding a dot: ${JSON.stringify(key)}`
    const problem = jsonProblem(item, depth + 1)
    if (problem) return problem
  }
  return undefined
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

function invalid(detail: string): ValidationError {
  return new ValidationError([{ pointer: '#/metadata', detail }])
}
