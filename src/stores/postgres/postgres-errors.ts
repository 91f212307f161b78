import { taken } from '../../control/taken.js'

/** A unique constraint's name → the error that says what was taken. */
const TAKEN: Record<string, () => Error> = {
  organizations_name_key_unique: taken.name,
  organizations_slug_unique: taken.slug,
  accounts_email_unique: taken.email,
  accounts_subject_unique: taken.subject,
  memberships_account_organization_unique: taken.membership,
  invitations_organization_email_unique: taken.invitation,
  domains_pkey: taken.domain,
}

/** Turns a unique violation of one of tenantry's constraints into its error; anything else passes. */
export function rethrowTaken(err: unknown): never {
  const { code, constraint } = (err ?? {}) as { code?: string; constraint?: string }
  const error = code === '23505' && constraint !== undefined ? TAKEN[constraint] : undefined
  throw error ? error() : err
}
