/**
 * What a refused call says, as one string: its code and message, or for invalid input its code
 * and each field with why. Throws if the call was not refused.
 */
export async function refusal(call: Promise<unknown>): Promise<string> {
  const err = (await call.then(
    () => null,
    (error: unknown) => error,
  )) as { code?: string; message?: string; issues?: { pointer: string; detail: string }[] } | null
  if (err === null) throw new Error('the call was not refused')
  return err.issues
    ? `${err.code} ${err.issues.map((issue) => `${issue.pointer} ${issue.detail}`).join('; ')}`
    : `${err.code} ${err.message}`
}
