import {
  AlreadyMemberError,
  DomainTakenError,
  EmailTakenError,
  InvitationPendingError,
  OrganizationNameTakenError,
  SlugTakenError,
  SubjectTakenError,
} from '../../errors.js'

/** A unique constraint's name → the error that says what was taken. */
const TAKEN: Record<string, () => Error> = {
  organizations_name_key_unique: () => new OrganizationNameTakenError('an organization with this name already exists'),
  organizations_slug_unique: () => new SlugTakenError('an organization with this slug already exists'),
  accounts_email_unique: () => new EmailTakenError('an account with this email already exists'),
  accounts_subject_unique: () => new SubjectTakenError('another account is linked to this subject'),
  memberships_account_organization_unique: () =>
    new AlreadyMemberError('this account is already a member of the organization'),
  invitations_organization_email_unique: () =>
    new InvitationPendingError('this email already has a pending invitation to the organization'),
  domains_pkey: () => new DomainTakenError('another organization already uses this domain'),
}

/** Turns a unique violation of one of tenantry's constraints into its error; anything else passes. */
export function rethrowTaken(err: unknown): never {
  const { code, constraint } = (err ?? {}) as { code?: string; constraint?: string }
  const taken = code === '23505' && constraint !== undefined ? TAKEN[constraint] : undefined
  throw taken ? taken() : err
}
