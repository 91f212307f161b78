import { createHash, randomBytes } from 'node:crypto'

/**
 * One of the host app's own users: an API key's holder in a customer organization. tenantry
 * knows it by `subject` and keeps its membership, so removing that membership ends the key.
 */
export interface AppUser {
  id: string
  /** What the app tells tenantry this user is (`tenancy.accounts.link`, `tenantScope({ member })`). */
  subject: string
  organizationId: string
  name: string
}

/**
 * Stands in for the host app's own user system (its sessions, its API keys, its SSO): tenantry
 * knows nothing of these users. Keys are kept only as SHA-256 hashes.
 */
export function createAppUsers() {
  const byKeyHash = new Map<string, AppUser>()
  const hash = (key: string) => createHash('sha256').update(key).digest('hex')
  return {
    /** Creates a user in an organization and returns the API key it signs in with. */
    add(organizationId: string, name: string): { user: AppUser; apiKey: string } {
      const apiKey = `ak_${randomBytes(24).toString('base64url')}`
      const id = randomBytes(8).toString('hex')
      const user = { id, subject: `api-key:${id}`, organizationId, name }
      byKeyHash.set(hash(apiKey), user)
      return { user, apiKey }
    },
    authenticate(apiKey: unknown): AppUser | undefined {
      return typeof apiKey === 'string' ? byKeyHash.get(hash(apiKey)) : undefined
    },
  }
}

export type AppUsers = ReturnType<typeof createAppUsers>
