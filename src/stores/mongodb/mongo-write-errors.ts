import { taken } from '../../control/taken.js'

const DUPLICATE_KEY = 11000

/**
 * Server errors that prove the write never ran: the command was malformed (2 BadValue, 9
 * FailedToParse), not allowed (13 Unauthorized), failed validation (121), or reached a node that
 * was not, or stopped being, primary before it ran (10107, 13435, 11602, 189). Anything else, a
 * duplicate key included (a retry's 11000 on its own `_id` means the first attempt applied), is
 * "may have applied": the driver surfaces a retry's error, not the first attempt's.
 */
const NOTHING_RAN = new Set([2, 9, 13, 121, 10107, 13435, 11602, 189])

/**
 * Marks a server error that certainly did not apply (`refused: true`): a code from `NOTHING_RAN`
 * at the top level, with no write-concern error and no label saying it may have run. Network
 * errors, timeouts and every other code stay unmarked: the core treats them as "may have applied".
 */
export function markRefusal(err: unknown): never {
  // By name, not instanceof: this module loads without the driver, and the host's copy may differ.
  const error = err as {
    name?: unknown
    code?: unknown
    errInfo?: { writeConcernError?: unknown }
    writeConcernError?: unknown
    errorLabels?: unknown
  } | null
  const labels = Array.isArray(error?.errorLabels) ? error.errorLabels : []
  if (
    error?.name === 'MongoServerError' &&
    typeof error.code === 'number' &&
    NOTHING_RAN.has(error.code) &&
    error.errInfo?.writeConcernError === undefined &&
    error.writeConcernError === undefined &&
    !labels.includes('RetryableWriteError') &&
    !labels.includes('UnknownTransactionCommitResult')
  ) {
    ;(err as { refused?: boolean }).refused = true
  }
  throw err
}

/**
 * Which unique index refused a write, as the server names it in `keyPattern` (and, for a
 * write-concern error that arrived with it, in `writeErrors`). Only the indexes that stand for
 * a taken name, slug, email or domain become those errors; any other duplicate (an `_id`, an
 * index tenantry did not make) is passed on as it is, never dressed up as "taken".
 */
function duplicateIndex(err: unknown): string[] | undefined {
  const error = err as {
    code?: unknown
    keyPattern?: Record<string, unknown>
    writeErrors?: { code?: unknown; keyPattern?: Record<string, unknown> }[]
  }
  if (error?.code === DUPLICATE_KEY && error.keyPattern) return Object.keys(error.keyPattern)
  const written = error?.writeErrors?.find((writeError) => writeError.code === DUPLICATE_KEY && writeError.keyPattern)
  return written ? Object.keys(written.keyPattern!) : undefined
}

export const organizationConflicts = { nameKey: taken.name, slug: taken.slug }
export const accountConflicts = { email: taken.email, subject: taken.subject }
export const membershipConflicts = { accountId: taken.membership }
export const invitationConflicts = { organizationId: taken.invitation }
export const domainConflicts = { _id: taken.domain }

export function rethrowDuplicate(conflicts: Record<string, () => Error>) {
  return (err: unknown): never => {
    const [field] = duplicateIndex(err) ?? []
    const conflict = field === undefined ? undefined : conflicts[field]
    if (conflict) {
      const error = conflict()
      ;(error as { cause?: unknown }).cause = err
      throw error
    }
    throw err
  }
}
