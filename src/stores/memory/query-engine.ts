import { Context, evalExpr } from 'mingo/core'
import * as accumulatorOperators from 'mingo/operators/accumulator'
import * as expressionOperators from 'mingo/operators/expression'
import * as pipelineOperators from 'mingo/operators/pipeline'
import * as projectionOperators from 'mingo/operators/projection'
import * as queryOperators from 'mingo/operators/query'
import * as windowOperators from 'mingo/operators/window'
import safeRegex from 'safe-regex2'
import {
  InvalidQueryError,
  QueryLimitError,
  QueryTimeoutError,
  TenantryError,
  UnsupportedQueryError,
} from '../../errors.js'

/**
 * mingo, bounded: what one tenant's operation may cost the process. mingo evaluates
 * synchronously, so the running operation's deadline is one module-level value, set around it.
 */

const MAX_ARRAY = 1_000_000
const MAX_STRING = 16 * 1024 * 1024 // MongoDB's own document limit
const MAX_STAGE_DOCUMENTS = 1_000_000
const CHECK_EVERY = 256

let deadline = Number.POSITIVE_INFINITY
let timeLimit = 0
let ticks = 0

function tick(): void {
  if (++ticks % CHECK_EVERY === 0 && Date.now() > deadline)
    throw new QueryTimeoutError(`the operation ran past its ${timeLimit} ms (maxTimeMS)`)
}

/** Runs one synchronous evaluation under a time limit, turning every engine failure into a typed error. */
export function bounded<R>(maxTimeMS: number, run: () => R): R {
  const [previous, previousLimit] = [deadline, timeLimit]
  deadline = Date.now() + maxTimeMS
  timeLimit = maxTimeMS
  try {
    return run()
  } catch (err) {
    throw engineError(err)
  } finally {
    deadline = previous
    timeLimit = previousLimit
  }
}

function engineError(err: unknown): unknown {
  if (err instanceof TenantryError) return err
  // V8's own limits: a call stack or an allocation the bounds above did not foresee.
  if (err instanceof RangeError && /call stack|Invalid (array|string|typed array) length/.test(err.message))
    return new QueryLimitError('the operation needs more memory or nesting than a tenant may use', { cause: err })
  // mingo's own refusals (MingoError) and whatever else it throws on a tenant's input.
  if (err instanceof Error) return new InvalidQueryError(err.message, { cause: err })
  return err
}

function checkSize(result: unknown, operator: string): void {
  if (typeof result === 'string' ? result.length > MAX_STRING : Array.isArray(result) && result.length > MAX_ARRAY) {
    throw new QueryLimitError(
      `${operator} made a value larger than a tenant may (${MAX_ARRAY} elements, ${MAX_STRING} characters)`,
    )
  }
}

/** A regular expression that cannot backtrack for ever (nested quantifiers are refused). */
function checkRegex(pattern: unknown): void {
  const source = pattern instanceof RegExp ? pattern.source : pattern
  if (typeof source !== 'string') return
  if (!safeRegex(source))
    throw new QueryLimitError(
      `the regular expression ${JSON.stringify(source.slice(0, 80))} can take exponential time (nested quantifiers); the in-memory store refuses it`,
    )
}

type ComputeOptions = Parameters<typeof evalExpr>[2]
type ExpressionOperator = (obj: unknown, expr: unknown, options: ComputeOptions) => unknown
type QueryOperator = (selector: string, value: unknown, options: ComputeOptions) => (obj: unknown) => boolean
type PipelineOperator = (
  collection: { map(f: (value: unknown) => unknown): unknown },
  expr: unknown,
  options: ComputeOptions,
) => { map(f: (value: unknown) => unknown): unknown }

function boundExpression(name: string, operator: ExpressionOperator): ExpressionOperator {
  return (obj, expr, options) => {
    tick()
    const result = operator(obj, expr, options)
    checkSize(result, name)
    return result
  }
}

// Checked before running: $range allocates its whole array at once.
function boundRange(operator: ExpressionOperator): ExpressionOperator {
  return (obj, expr, options) => {
    const [start, end, step = 1] = (evalExpr(obj, expr, options) ?? []) as number[]
    if (
      typeof start === 'number' &&
      typeof end === 'number' &&
      typeof step === 'number' &&
      step !== 0 &&
      (end - start) / step > MAX_ARRAY
    ) {
      throw new QueryLimitError(`$range would make more than ${MAX_ARRAY} numbers`)
    }
    return boundExpression('$range', operator)(obj, expr, options)
  }
}

// A pattern computed from a document is only known here, when it runs.
function boundRegexExpression(name: string, operator: ExpressionOperator): ExpressionOperator {
  return (obj, expr, options) => {
    if (expr !== null && typeof expr === 'object' && 'regex' in expr)
      checkRegex(evalExpr(obj, (expr as { regex: unknown }).regex, options))
    return boundExpression(name, operator)(obj, expr, options)
  }
}

function boundQuery(operator: QueryOperator): QueryOperator {
  return (selector, value, options) => {
    const predicate = operator(selector, value, options)
    return (obj) => {
      tick()
      return predicate(obj)
    }
  }
}

function boundStage(name: string, operator: PipelineOperator): PipelineOperator {
  return (collection, expr, options) => {
    let produced = 0
    return operator(collection, expr, options).map((document) => {
      tick()
      if (++produced > MAX_STAGE_DOCUMENTS)
        throw new QueryLimitError(`${name} made more than ${MAX_STAGE_DOCUMENTS} documents`)
      return document
    }) as ReturnType<PipelineOperator>
  }
}

function wrapAll<O>(operators: Record<string, unknown>, wrap: (name: string, operator: O) => O): Record<string, O> {
  const wrapped: Record<string, O> = {}
  for (const [name, operator] of Object.entries(operators))
    if (name.startsWith('$') && typeof operator === 'function') wrapped[name] = wrap(name, operator as O)
  return wrapped
}

const REGEX_EXPRESSIONS = new Set(['$regexMatch', '$regexFind', '$regexFindAll'])

/**
 * Every operator of mingo's; the expression, query and pipeline ones with a clock and their bounds. Used
 * with mingo's base classes (`mingo/query`, `mingo/aggregator`, `mingo/updater`): the package's
 * main entry merges its own operators over any given context, so the bounds would not apply.
 */
export const boundedContext = Context.init({
  accumulator: accumulatorOperators as never,
  projection: projectionOperators as never,
  window: windowOperators as never,
  expression: wrapAll<ExpressionOperator>(expressionOperators, (name, operator) =>
    name === '$range'
      ? boundRange(operator)
      : REGEX_EXPRESSIONS.has(name)
        ? boundRegexExpression(name, operator)
        : boundExpression(name, operator),
  ) as never,
  query: wrapAll<QueryOperator>(queryOperators, (_name, operator) => boundQuery(operator)) as never,
  pipeline: wrapAll<PipelineOperator>(pipelineOperators, (name, operator) => boundStage(name, operator)) as never,
})

/**
 * What mingo cannot do as MongoDB does, refused before it runs: text search, a `$lookup` with both
 * an equality and a pipeline (mingo would run the pipeline over every document), and patterns
 * that backtrack for ever.
 */
export function checkSupported(value: unknown, depth = 0): void {
  if (depth > 80 || value === null || typeof value !== 'object') return
  if (value instanceof RegExp) {
    checkRegex(value)
    return
  }
  if (Array.isArray(value)) {
    for (const item of value) checkSupported(item, depth + 1)
    return
  }
  for (const [key, inner] of Object.entries(value)) {
    if (key === '$text')
      throw new UnsupportedQueryError(
        '$text needs a text index and works on MongoDB; the in-memory store has no text search',
      )
    if (key === '$regex') checkRegex(inner)
    if (
      key === '$lookup' &&
      inner !== null &&
      typeof inner === 'object' &&
      'localField' in inner &&
      'pipeline' in inner &&
      Array.isArray(inner.pipeline) &&
      inner.pipeline.length > 0
    ) {
      throw new UnsupportedQueryError(
        'a $lookup with both localField/foreignField and a pipeline works on MongoDB; on the in-memory store, match inside the pipeline with let and $expr',
      )
    }
    checkSupported(inner, depth + 1)
  }
}
