import { createHash, randomBytes } from 'node:crypto'

/** 256 random bits, base64url: never a JWT, so it cannot pass as an access token, nor one as it. */
export const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{43}$/

export function newRefreshToken(): string {
  return `rt_${randomBytes(32).toString('base64url')}`
}

/** Stored as SHA-256: the token has 256 bits of entropy, so a slow hash would add nothing. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}
