import { InvalidQueryError } from '../errors.js'
import type { Document } from './collection-types.js'
import { scopeFilter, type Confinement } from './isolation-rules.js'
import { inspect, isPlainObject, refuse, tenantFieldMessage, touches } from './query-values.js'

// Stages that only transform the documents already in the pipeline. The joins ($lookup,
// $graphLookup, $unionWith) are rewritten to the tenant's own collections below; every other
// stage that reads or writes other data ($out, $merge, $collStats, $currentOp, $documents, ...)
// is absent, so refused.
const STAGES = new Set([
  '$match',
  '$project',
  '$addFields',
  '$set',
  '$unset',
  '$group',
  '$sort',
  '$limit',
  '$skip',
  '$count',
  '$unwind',
  '$bucket',
  '$bucketAuto',
  '$sortByCount',
  '$replaceRoot',
  '$replaceWith',
  '$sample',
  '$setWindowFields',
  '$densify',
  '$fill',
  '$redact',
])
const MAX_NESTING = 4

interface Position {
  depth: number
  inFacet: boolean
}

/**
 * An aggregation pipeline of allowed stages, confined to the tenant. A join may name any declared
 * collection and is pointed at the tenant's own (on a mixed collection, behind the tenant's
 * `$match`); on a mixed collection the pipeline starts with the tenant's `$match` and drops the
 * tenant field, so no stage sees another tenant's documents or the field itself.
 */
export function scopePipeline(pipeline: unknown, confinement: Confinement): Document[] {
  if (!Array.isArray(pipeline)) refuse('a pipeline must be an array of stages')
  return [...tenantStages(confinement), ...rewrite(pipeline, confinement, { depth: 0, inFacet: false })]
}

function tenantStages({ tenant, mixed }: Confinement): Document[] {
  return tenant && mixed ? [{ $match: { [tenant.field]: tenant.value } }, { $unset: tenant.field }] : []
}

function rewrite(pipeline: unknown[], confinement: Confinement, at: Position): Document[] {
  if (at.depth > MAX_NESTING) refuse('sub-pipelines are nested too deeply')
  const stages: Document[] = []
  for (const stage of pipeline) {
    const [name, ...rest] = isPlainObject(stage) ? Object.keys(stage) : []
    if (name === undefined || rest.length > 0) refuse('each pipeline stage has exactly one operator')
    const body = (stage as Document)[name]
    if (name === '$facet') stages.push(facet(body, confinement, at))
    else if (name === '$lookup') stages.push(lookup(body, confinement, at))
    else if (name === '$unionWith') stages.push(unionWith(body, confinement, at))
    else if (name === '$graphLookup') stages.push(...graphLookup(body, confinement))
    else {
      if (!STAGES.has(name))
        refuse(`the aggregation stage ${name} is not allowed: it could reach beyond the tenant's documents`)
      inspect(body, { tenantField: confinement.tenant?.field })
      stages.push(stage as Document)
    }
  }
  return stages
}

function facet(body: unknown, confinement: Confinement, at: Position): Document {
  // As the server: a $facet inside a $facet is an error there too.
  if (at.inFacet) refuse('$facet may not hold another $facet')
  if (!isPlainObject(body)) refuse('$facet takes an object of pipelines')
  const facets: Document = {}
  for (const [key, inner] of Object.entries(body)) {
    if (!Array.isArray(inner)) refuse('$facet takes an object of pipelines')
    checkName(key, confinement)
    facets[key] = rewrite(inner, confinement, { depth: at.depth + 1, inFacet: true })
  }
  return { $facet: facets }
}

function lookup(body: unknown, confinement: Confinement, at: Position): Document {
  if (!isPlainObject(body)) refuse('$lookup takes an object')
  const { from, localField, foreignField, let: variables, pipeline, as, ...other } = body
  refuseOthers('$lookup', other)
  const target = joinTarget(from, confinement, '$lookup')
  fieldName('$lookup', 'as', as, confinement)
  if ((localField === undefined) !== (foreignField === undefined))
    throw new InvalidQueryError('$lookup takes localField and foreignField together')
  if (localField !== undefined) {
    fieldName('$lookup', 'localField', localField, confinement)
    fieldName('$lookup', 'foreignField', foreignField, confinement)
  } else if (pipeline === undefined)
    throw new InvalidQueryError('$lookup needs localField and foreignField, or a pipeline')
  if (pipeline !== undefined && !Array.isArray(pipeline))
    throw new InvalidQueryError('$lookup takes a pipeline as an array of stages')
  if (variables !== undefined) {
    if (!isPlainObject(variables)) throw new InvalidQueryError('$lookup takes let as an object')
    inspect(variables, { tenantField: confinement.tenant?.field })
  }
  const inner = [
    ...tenantStages(confinement),
    ...rewrite(pipeline ?? [], confinement, { depth: at.depth + 1, inFacet: false }),
  ]
  const rewritten: Document = { from: target, as }
  if (localField !== undefined) Object.assign(rewritten, { localField, foreignField })
  if (variables !== undefined) rewritten.let = variables
  if (pipeline !== undefined || inner.length > 0) rewritten.pipeline = inner
  return { $lookup: rewritten }
}

function unionWith(body: unknown, confinement: Confinement, at: Position): Document {
  const spec =
    typeof body === 'string'
      ? { coll: body }
      : isPlainObject(body)
        ? body
        : refuse('$unionWith takes a collection name or { coll, pipeline }')
  const { coll, pipeline, ...other } = spec
  refuseOthers('$unionWith', other)
  const target = joinTarget(coll, confinement, '$unionWith')
  if (pipeline !== undefined && !Array.isArray(pipeline))
    throw new InvalidQueryError('$unionWith takes a pipeline as an array of stages')
  const inner = [
    ...tenantStages(confinement),
    ...rewrite(pipeline ?? [], confinement, { depth: at.depth + 1, inFacet: false }),
  ]
  return { $unionWith: inner.length > 0 ? { coll: target, pipeline: inner } : { coll: target } }
}

function graphLookup(body: unknown, confinement: Confinement): Document[] {
  if (!isPlainObject(body)) refuse('$graphLookup takes an object')
  const {
    from,
    startWith,
    connectFromField,
    connectToField,
    as,
    maxDepth,
    depthField,
    restrictSearchWithMatch,
    ...other
  } = body
  refuseOthers('$graphLookup', other)
  const target = joinTarget(from, confinement, '$graphLookup')
  fieldName('$graphLookup', 'connectFromField', connectFromField, confinement)
  fieldName('$graphLookup', 'connectToField', connectToField, confinement)
  fieldName('$graphLookup', 'as', as, confinement)
  if (depthField !== undefined) fieldName('$graphLookup', 'depthField', depthField, confinement)
  if (maxDepth !== undefined && !(Number.isSafeInteger(maxDepth) && (maxDepth as number) >= 0))
    throw new InvalidQueryError('$graphLookup takes maxDepth as a whole number, 0 or more')
  if (startWith === undefined) throw new InvalidQueryError('$graphLookup needs startWith')
  inspect(startWith, { tenantField: confinement.tenant?.field })
  const restrict = restrictSearchWithMatch === undefined ? {} : restrictSearchWithMatch
  const stage: Document = { from: target, startWith, connectFromField, connectToField, as }
  if (maxDepth !== undefined) stage.maxDepth = maxDepth
  if (depthField !== undefined) stage.depthField = depthField
  const scoped = scopeFilter(restrict as Document, confinement)
  if (Object.keys(scoped).length > 0) stage.restrictSearchWithMatch = scoped
  const { tenant } = confinement
  // The joined documents carry the tenant field on a mixed collection; the tenant never sees it.
  return tenant && confinement.mixed
    ? [{ $graphLookup: stage }, { $unset: `${as as string}.${tenant.field}` }]
    : [{ $graphLookup: stage }]
}

function joinTarget(name: unknown, confinement: Confinement, stage: string): string {
  const target = typeof name === 'string' ? confinement.joinTarget(name) : undefined
  if (target === undefined)
    refuse(`${stage} may join only the collections the store declares; ${JSON.stringify(name) ?? 'nothing'} is not one`)
  return target
}

function fieldName(stage: string, option: string, value: unknown, confinement: Confinement): void {
  if (typeof value !== 'string' || value === '' || value.startsWith('$'))
    throw new InvalidQueryError(`${stage} takes ${option} as a field name`)
  checkName(value, confinement)
}

function checkName(name: string, { tenant }: Confinement): void {
  if (tenant && touches(name, tenant.field)) refuse(tenantFieldMessage(tenant.field))
}

function refuseOthers(stage: string, other: Record<string, unknown>): void {
  const [unknown] = Object.keys(other)
  if (unknown !== undefined) refuse(`${stage} does not take ${unknown}`)
}
