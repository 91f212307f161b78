import { PASSWORD } from './secret.js'

export interface MemberReply {
  status: number
  body: any
}

/** What the member helpers need from a test's HTTP client. */
export type Send = (method: string, path: string, options?: { json?: unknown; token?: string }) => Promise<MemberReply>

/** The claims of a tenantry access token (not verified: for reading ids in tests). */
export function claimsOf(accessToken: string): { sub: string; org: string; mid: string; role: string } {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString())
}

/**
 * Invites `email` as `role` with `inviterToken`, accepts with `password`, and answers with the
 * new member's tokens and membership id. Throws if any step does not answer as it should.
 */
export async function addMember(send: Send, inviterToken: string, email: string, role: string, password = PASSWORD) {
  const invited = await send('POST', '/org/invitations', { json: { email, role }, token: inviterToken })
  if (invited.status !== 201)
    throw new Error(`invite ${email} as ${role}: ${invited.status} ${JSON.stringify(invited.body)}`)
  const accepted = await send('POST', '/org/invitations/accept', { json: { token: invited.body.token, password } })
  if (accepted.status !== 200) throw new Error(`accept ${email}: ${accepted.status} ${JSON.stringify(accepted.body)}`)
  const accessToken = accepted.body.access_token as string
  return {
    email,
    accessToken,
    refreshToken: accepted.body.refresh_token as string,
    memberId: claimsOf(accessToken).mid,
    invitationId: invited.body.invitation.id as string,
  }
}
