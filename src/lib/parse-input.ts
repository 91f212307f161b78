import type { z } from 'zod'
import { ValidationError } from '../errors.js'

/** Parses `input` with `schema`, or throws a `ValidationError` listing every field at fault. */
export function parseInput<TSchema extends z.ZodType>(schema: TSchema, input: unknown): z.output<TSchema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      pointer: `#${issue.path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')}`,
      detail: issue.message,
    })),
    { cause: result.error },
  )
}
