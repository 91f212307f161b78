import { createHash, randomBytes } from 'node:crypto'
import bcrypt from 'bcrypt'
import type { HostIdentity } from 'tenantry/http'
import { z } from 'zod'

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

/** Someone who signs in to the host app with its own form: tenantry knows them by `subject`. */
export interface Person {
  id: string
  subject: string
  email: string
}

/** What the app's session holds for a signed-in person, and the organization they work in now. */
export interface SignedIn {
  person: Person
  organizationId?: string
}

/** The app's sign-in form fields (HTML form or JSON). */
export const credentials = z.strictObject({
  email: z.string().trim().toLowerCase().max(254).pipe(z.email()),
  password: z.string().min(8).max(200),
})

/**
 * The host app's people and their passwords (bcrypt), standing in for its own user table:
 * tenantry never sees a password here, only the `subject` and email `identify` hands it.
 */
export function createPeople(options: { bcryptCost?: number } = {}) {
  const cost = options.bcryptCost ?? 10
  const byEmail = new Map<string, Person & { passwordHash: string }>()
  // Compared against when the email is unknown, so a wrong email takes as long as a wrong password.
  const decoy = bcrypt.hash(randomBytes(16).toString('hex'), cost)
  return {
    /**
     * A new person, or `null` when the email is taken. The address is NOT verified: this example
     * takes anyone's word for it, and so does an invitation's email match (see docs/members.md).
     */
    async signUp(email: string, password: string): Promise<Person | null> {
      if (byEmail.has(email)) return null
      const passwordHash = await bcrypt.hash(password, cost)
      if (byEmail.has(email)) return null
      const id = randomBytes(8).toString('hex')
      const person = { id, subject: `user:${id}`, email }
      byEmail.set(email, { ...person, passwordHash })
      return person
    },
    /** The person with this email and password, or `null`. */
    async signIn(email: string, password: string): Promise<Person | null> {
      const found = byEmail.get(email)
      const matches = await bcrypt.compare(password, found?.passwordHash ?? (await decoy))
      return found && matches ? { id: found.id, subject: found.subject, email: found.email } : null
    },
  }
}

export type People = ReturnType<typeof createPeople>

/**
 * What tenantry's `identify` is told of the session: who is signed in and, once they picked
 * one, the organization they work in (tenantry checks the membership on every request).
 */
export function identityOf(signedIn: SignedIn | undefined): HostIdentity | null {
  if (!signedIn) return null
  const { person, organizationId } = signedIn
  return {
    subject: person.subject,
    email: person.email,
    ...(organizationId ? { organization: { id: organizationId } } : {}),
  }
}

/** The app's login form: signing in or creating an account posts the same two fields. */
export const SIGN_IN_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Sign in</title>
<form method="post" action="/sign-in">
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" minlength="8" required></label>
  <button>Sign in</button>
  <button formaction="/sign-up">Create an account</button>
</form>
<p>This example does not verify email addresses: an account is whatever address you type.</p>
</html>
`
