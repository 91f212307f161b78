import { Context, evalExpr } from 'mingo/core'
import * as accumulatorOperators from 'mingo/operators/accumulator'
import * as expressionOperators from 'mingo/operators/expression'
import * as pipelineOperators from 'mingo/operators/pipeline'
import * as projectionOperators from 'mingo/operators/projection'
import * as queryOperators from 'mingo/operators/query'
import * as windowOperators from 'mingo/operators/window'
import safeRegex from 'safe-regex2'
import { InvalidQueryError, QueryLimitError, TenantryError, UnsupportedQueryError } from '../../errors.js'
import { currentBudget, OperationBudget, withBudget } from './operation-budget.js'
import { literalWeight, madeSize, shallowSize } from './value-size.js'

/**
 * mingo, bounded: what one tenant's operation may cost the process. Each operation has its own
 * budget (`operation-budget.ts`): a clock read on every operator call, and an allowance of values
 * made, charged as they are made and, for work that cannot be interrupted, before it starts.
 */

const MAX_ARRAY = 1_000_000
const MAX_STRING = 16 * 1024 * 1024 // MongoDB's own document limit
const MAX_STAGE_DOCUMENTS = 1_000_000
/** Values (array elements, object fields, characters) one operation may make: some 100 MB at worst. */
export const DEFAULT_MAX_ALLOCATION = 4_000_000
// What one value costs work that runs to its end once started, measured with mingo 7 at a load
// average of 10 on 2 cores and doubled or more: hashing (set operators, $zip, $group) 0.5 to 0.9 µs,
// copying ($concatArrays, $in, $range) 0.1 to 0.26 µs, a sort's comparison 9 ns (numbers) to 280
// ns (documents by a key), n·log₂n of them.
const MS_PER_HASHED = 0.002
const MS_PER_COPIED = 0.0005
const MS_PER_COMPARED = { value: 0.00002, key: 0.0006 }

/** Runs one synchronous evaluation under its own budget, turning every engine failure into a typed error. */
export function bounded<R>(maxTimeMS: number, run: () => R, maxAllocation = DEFAULT_MAX_ALLOCATION): R {
  try {
    return withBudget(new OperationBudget(maxTimeMS, maxAllocation), run)
  } catch (err) {
    throw engineError(err)
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
type AccumulatorOperator = (collection: unknown[], expr: unknown, options: ComputeOptions) => unknown
type QueryOperator = (selector: string, value: unknown, options: ComputeOptions) => (obj: unknown) => boolean
interface Documents {
  map(f: (value: unknown) => unknown): Documents
}
type PipelineOperator = (collection: Documents, expr: unknown, options: ComputeOptions) => Documents

// Internal operators the wrappers below write into a tenant's expression; a tenant may not name them.
const STEP = '$__tenantryStep'
const VALUE = '$__tenantryValue'

function boundExpression(name: string, operator: ExpressionOperator): ExpressionOperator {
  return (obj, expr, options) => {
    const budget = currentBudget()
    budget.step()
    const result = operator(obj, expr, options)
    checkSize(result, name)
    budget.charge(madeSize(result), name)
    return result
  }
}

// What $map, $filter and $reduce evaluate once per element, wrapped so that each element is a step.
const PER_ELEMENT: Record<string, string> = { $map: 'in', $filter: 'cond', $reduce: 'in' }
const stepped = new WeakMap<object, object>()

function boundPerElement(name: string, operator: ExpressionOperator): ExpressionOperator {
  const field = PER_ELEMENT[name]!
  const inner = boundExpression(name, operator)
  return (obj, expr, options) => {
    if (expr === null || typeof expr !== 'object' || !(field in expr)) return inner(obj, expr, options)
    let rewritten = stepped.get(expr)
    if (!rewritten) {
      rewritten = { ...expr, [field]: { [STEP]: (expr as Record<string, unknown>)[field] } }
      stepped.set(expr, rewritten)
    }
    return inner(obj, rewritten, options)
  }
}

/** One element's evaluation of a per-element expression: a step, and what its literals make. */
const step: ExpressionOperator = (obj, expr, options) => {
  const budget = currentBudget()
  budget.step()
  budget.charge(literalWeight(expr), 'an expression evaluated per element')
  return evalExpr(obj, expr, options)
}

// Operators that work through whole arrays at once, all their arguments evaluated first. Their
// arguments are evaluated here instead, so what they hold is charged and timed before they start.
const WHOLE_ARRAY: Record<string, (size: number, expr: unknown) => number> = {
  $setUnion: hashed,
  $setIntersection: hashed,
  $setDifference: hashed,
  $setEquals: hashed,
  $setIsSubset: hashed,
  $zip: hashed,
  $arrayToObject: hashed,
  $objectToArray: copied,
  $concatArrays: copied,
  $reverseArray: copied,
  $in: copied,
  $indexOfArray: copied,
  $sortArray: (size, expr) =>
    size *
    Math.log2(size + 2) *
    (typeof (expr as { sortBy?: unknown }).sortBy === 'object' ? MS_PER_COMPARED.key : MS_PER_COMPARED.value),
}

function hashed(size: number): number {
  return size * MS_PER_HASHED
}

function copied(size: number): number {
  return size * MS_PER_COPIED
}

function boundWholeArray(name: string, operator: ExpressionOperator): ExpressionOperator {
  const inner = boundExpression(name, operator)
  const cost = WHOLE_ARRAY[name]!
  return (obj, expr, options) => {
    const budget = currentBudget()
    budget.step()
    const { quoted, size } = evaluateArguments(name, obj, expr, options)
    // The work and the scratch (hash tables, copies) grow with what the operator is given.
    budget.charge(size, name)
    budget.expect(cost(size, expr))
    return inner(obj, quoted, options)
  }
}

const quote = (value: unknown) => ({ [VALUE]: value })

/** The operator's arguments, evaluated, in the shape it reads them, and their size. */
function evaluateArguments(name: string, obj: unknown, expr: unknown, options: ComputeOptions) {
  const fields = name === '$zip' ? ['inputs', 'defaults'] : name === '$sortArray' ? ['input'] : undefined
  if (fields) {
    if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) return { quoted: expr, size: 0 }
    const quoted: Record<string, unknown> = { ...expr }
    let size = 0
    for (const field of fields) {
      if (!(field in quoted)) continue
      const value = evalExpr(obj, quoted[field], options)
      size += madeSize(value)
      quoted[field] = quote(value)
    }
    return { quoted, size }
  }
  if (Array.isArray(expr)) {
    const values = expr.map((item) => evalExpr(obj, item, options))
    return { quoted: values.map(quote), size: values.reduce((sum: number, value) => sum + madeSize(value), 0) }
  }
  const value = evalExpr(obj, expr, options)
  return { quoted: quote(value), size: madeSize(value) }
}

// Charged and timed before running: $range allocates its whole array at once.
function boundRange(operator: ExpressionOperator): ExpressionOperator {
  return (obj, expr, options) => {
    const budget = currentBudget()
    budget.step()
    const [start, end, step = 1] = (evalExpr(obj, expr, options) ?? []) as number[]
    if (typeof start === 'number' && typeof end === 'number' && typeof step === 'number' && step !== 0) {
      const length = Math.max(0, Math.ceil((end - start) / step))
      if (length > MAX_ARRAY) throw new QueryLimitError(`$range would make more than ${MAX_ARRAY} numbers`)
      budget.charge(length, '$range')
      budget.expect(copied(length))
    }
    return operator(obj, expr, options)
  }
}

// A pattern computed from a document is only known here, when it runs.
function boundRegexExpression(name: string, operator: ExpressionOperator): ExpressionOperator {
  const inner = boundExpression(name, operator)
  return (obj, expr, options) => {
    if (expr !== null && typeof expr === 'object' && 'regex' in expr)
      checkRegex(evalExpr(obj, (expr as { regex: unknown }).regex, options))
    return inner(obj, expr, options)
  }
}

/** An accumulator (`$push`, `$addToSet`, ...) evaluates its expression once per document of its group. */
function boundAccumulator(name: string, operator: AccumulatorOperator): AccumulatorOperator {
  return (collection, expr, options) => {
    const budget = currentBudget()
    budget.step()
    const count = Array.isArray(collection) ? collection.length : 0
    budget.charge(count * literalWeight(expr), name)
    budget.expect(hashed(count))
    const result = operator(collection, expr, options)
    budget.charge(madeSize(result), name)
    return result
  }
}

function boundQuery(operator: QueryOperator): QueryOperator {
  return (selector, value, options) => {
    const predicate = operator(selector, value, options)
    return (obj) => {
      currentBudget().step()
      return predicate(obj)
    }
  }
}

// Stages that pass on the documents they are given, making none.
const PASS_THROUGH = new Set(['$match', '$sort', '$limit', '$skip', '$sample'])
// Stages that take in every document before they give one out, then sort or hash them in one go:
// each document taken in is a step, and the work it adds is foreseen before the next one.
const BLOCKING = new Set(['$sort', '$group', '$bucket', '$bucketAuto', '$sortByCount', '$setWindowFields', '$fill'])

function boundStage(name: string, operator: PipelineOperator): PipelineOperator {
  const makes = !PASS_THROUGH.has(name)
  const blocking = BLOCKING.has(name)
  return (collection, expr, options) => {
    let [taken, produced] = [0, 0]
    const input = blocking
      ? collection.map((document) => {
          taken++
          currentBudget().expect(hashed(taken) + taken * Math.log2(taken + 2) * MS_PER_COMPARED.value)
          return document
        })
      : collection
    return operator(input, expr, options).map((document) => {
      const budget = currentBudget()
      budget.step()
      if (++produced > MAX_STAGE_DOCUMENTS)
        throw new QueryLimitError(`${name} made more than ${MAX_STAGE_DOCUMENTS} documents`)
      if (makes) budget.charge(1 + shallowSize(document) + joined(name, expr, document), name)
      return document
    })
  }
}

/** The documents a join adds to each of its own. */
function joined(name: string, expr: unknown, document: unknown): number {
  if ((name !== '$lookup' && name !== '$graphLookup') || expr === null || typeof expr !== 'object') return 0
  const as = (expr as { as?: unknown }).as
  return typeof as === 'string' ? shallowSize((document as Record<string, unknown>)[as]) : 0
}

function wrapAll<O>(operators: Record<string, unknown>, wrap: (name: string, operator: O) => O): Record<string, O> {
  const wrapped: Record<string, O> = {}
  for (const [name, operator] of Object.entries(operators))
    if (name.startsWith('$') && typeof operator === 'function') wrapped[name] = wrap(name, operator as O)
  return wrapped
}

const REGEX_EXPRESSIONS = new Set(['$regexMatch', '$regexFind', '$regexFindAll'])

function wrapExpression(name: string, operator: ExpressionOperator): ExpressionOperator {
  if (name === '$range') return boundRange(operator)
  if (name in PER_ELEMENT) return boundPerElement(name, operator)
  if (name in WHOLE_ARRAY) return boundWholeArray(name, operator)
  if (REGEX_EXPRESSIONS.has(name)) return boundRegexExpression(name, operator)
  return boundExpression(name, operator)
}

/**
 * Every operator of mingo's, each with its bounds. Used with mingo's base classes (`mingo/query`,
 * `mingo/aggregator`, `mingo/updater`): the package's main entry merges its own operators over
 * any given context, so the bounds would not apply.
 */
export const boundedContext = Context.init({
  accumulator: wrapAll<AccumulatorOperator>(accumulatorOperators, boundAccumulator) as never,
  projection: projectionOperators as never,
  window: windowOperators as never,
  expression: {
    ...wrapAll<ExpressionOperator>(expressionOperators, wrapExpression),
    [STEP]: step,
    [VALUE]: (_obj: unknown, expr: unknown) => expr,
  } as never,
  query: wrapAll<QueryOperator>(queryOperators, (_name, operator) => boundQuery(operator)) as never,
  pipeline: wrapAll<PipelineOperator>(pipelineOperators, boundStage) as never,
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
    if (key === STEP || key === VALUE) throw new InvalidQueryError(`unknown operator ${key}`)
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
