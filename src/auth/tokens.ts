/** The token types every part of sign-in shares: what a login hands out and what a verified token says. */

/** What a verified access token says. */
export interface AccessTokenClaims {
  accountId: string
  organizationId: string
  membershipId: string
  /** The membership's role when the token was issued; the registry refuses the token once it differs. */
  role: string
  sessionId: string
  tokenVersion: number
  /** The `exp` claim: seconds since the epoch. */
  expiresAt: number
}

/** The answer to a successful login or refresh. */
export interface IssuedTokens {
  accessToken: string
  tokenType: 'Bearer'
  /** Seconds until the access token expires. */
  expiresIn: number
  /** Opaque and single-use: `refresh` swaps it for a new pair. Never a bearer token for requests. */
  refreshToken: string
}
