/**
 * What a value costs the heap, in values (array elements, object fields, string characters): the
 * unit of an operation's allowance. Strings inside a composite are references to strings already
 * counted where they were made, so only a string made at the top is counted by its length.
 */
export function madeSize(value: unknown): number {
  if (typeof value === 'string') return value.length
  if (typeof value !== 'object' || value === null) return 0
  let size = 0
  if (Array.isArray(value)) {
    size = value.length
    for (const item of value) size += shallowSize(item)
    return size
  }
  for (const key in value) size += 1 + shallowSize((value as Record<string, unknown>)[key])
  return size
}

/** Elements or fields of a value, one level down: a `$zip`'s pairs, an `$objectToArray`'s entries. */
export function shallowSize(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  if (Array.isArray(value)) return value.length
  let size = 0
  for (const _ in value) size++
  return size
}

const weights = new WeakMap<object, number>()

/**
 * What evaluating an expression once makes besides its operators' results (counted where they
 * run): the arrays and objects written into it, which `$map`, `$reduce` or `$push` make again
 * for every element or document. An operator's own argument list is gone at once and not counted.
 */
export function literalWeight(expression: unknown, operatorArgument = false): number {
  if (typeof expression !== 'object' || expression === null) return 0
  const known = operatorArgument ? undefined : weights.get(expression)
  if (known !== undefined) return known
  let weight = 0
  if (Array.isArray(expression)) {
    weight = operatorArgument ? 0 : expression.length
    for (const item of expression) weight += literalWeight(item)
  } else {
    const keys = Object.keys(expression)
    const isOperator = keys.length === 1 && keys[0]!.startsWith('$')
    for (const key of keys) {
      const inner = (expression as Record<string, unknown>)[key]
      weight += isOperator ? literalWeight(inner, true) : 1 + literalWeight(inner)
    }
  }
  if (!operatorArgument) weights.set(expression, weight)
  return weight
}
