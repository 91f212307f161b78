import { createHash, randomBytes } from 'node:crypto'

/** One of the host app's own users: an employee of a customer organization, with an API key. */
export interface AppUser {
  id: string
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
      const user = { id: randomBytes(8).toString('hex'), organizationId, name }
      byKeyHash.set(hash(apiKey), user)
      return { user, apiKey }
    },
    authenticate(apiKey: unknown): AppUser | undefined {
      return typeof apiKey === 'string' ? byKeyHash.get(hash(apiKey)) : undefined
    },
  }
}

export type AppUsers = ReturnType<typeof createAppUsers>
