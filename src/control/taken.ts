import {
  AlreadyMemberError,
  DomainTakenError,
  EmailTakenError,
  InvitationPendingError,
  OrganizationNameTakenError,
  SlugTakenError,
  SubjectTakenError,
} from '../errors.js'

/**
 * What a record store throws when a unique key it keeps is taken, in one wording on every store;
 * each store maps its own signal (a unique table, a duplicate-key index, a constraint name) here.
 */
export const taken = {
  name: () => new OrganizationNameTakenError('an organization with this name already exists'),
  slug: () => new SlugTakenError('an organization with this slug already exists'),
  email: () => new EmailTakenError('an account with this email already exists'),
  subject: () => new SubjectTakenError('another account is linked to this subject'),
  membership: () => new AlreadyMemberError('this account is already a member of the organization'),
  invitation: () => new InvitationPendingError('this email already has a pending invitation to the organization'),
  domain: () => new DomainTakenError('another organization already uses this domain'),
} as const
