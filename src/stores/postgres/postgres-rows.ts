import type {
  AccountRecord,
  AuditEvent,
  DomainRecord,
  InvitationRecord,
  MembershipRecord,
  OrganizationRecord,
  RefreshTokenRecord,
  SessionRecord,
} from '../../control/records.js'

/** The tables' rows as `pg` returns them: timestamps as `Date`, jsonb parsed. */
export interface OrganizationRow {
  id: string
  name: string
  name_key: string
  slug: string | null
  data_key: string
  owner_id: string
  state: OrganizationRecord['state']
  state_changed_at: Date
  metadata: Record<string, unknown> | null
  created_at: Date
  updated_at: Date
}
export interface AccountRow {
  id: string
  email: string | null
  password_hash: string | null
  subject: string | null
  token_version: number
  created_at: Date
  updated_at: Date
}
export interface MembershipRow {
  id: string
  account_id: string
  organization_id: string
  role: string
  created_at: Date
  updated_at: Date
}
export interface InvitationRow {
  id: string
  organization_id: string
  email: string
  role: string
  token_hash: string
  invited_by: string
  created_at: Date
  expires_at: Date
}
export interface SessionRow {
  id: string
  account_id: string
  organization_id: string
  membership_id: string
  token_version: number
  created_at: Date
  expires_at: Date
}
export interface RefreshTokenRow {
  hash: string
  session_id: string
  created_at: Date
  expires_at: Date
  used_at: Date | null
  retry_until: Date | null
}
export interface DomainRow {
  domain: string
  organization_id: string
  created_at: Date
}
export interface AuditEventRow {
  id: string
  type: AuditEvent['type']
  organization_id: string | null
  account_id: string | null
  client_address: string | null
  at: Date
  details: AuditEvent['details']
}

export function toOrganization(row: OrganizationRow): OrganizationRecord {
  // A record from before slugs existed has none until tenancy.migrate() gives it one.
  return <OrganizationRecord>{
    id: row.id,
    name: row.name,
    nameKey: row.name_key,
    ...(row.slug === null ? {} : { slug: row.slug }),
    dataKey: row.data_key,
    ownerId: row.owner_id,
    state: row.state,
    stateChangedAt: row.state_changed_at,
    ...(row.metadata === null ? {} : { metadata: row.metadata }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toAccount(row: AccountRow): AccountRecord {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    ...(row.subject === null ? {} : { subject: row.subject }),
    tokenVersion: row.token_version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toMembership(row: MembershipRow): MembershipRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    organizationId: row.organization_id,
    role: row.role,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export function toInvitation(row: InvitationRow): InvitationRecord {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    role: row.role,
    tokenHash: row.token_hash,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

export function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    organizationId: row.organization_id,
    membershipId: row.membership_id,
    tokenVersion: row.token_version,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  }
}

export function toRefreshToken(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    hash: row.hash,
    sessionId: row.session_id,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    ...(row.retry_until === null ? {} : { retryUntil: row.retry_until }),
  }
}

export function toDomain(row: DomainRow): DomainRecord {
  return { domain: row.domain, organizationId: row.organization_id, createdAt: row.created_at }
}

export function toAuditEvent(row: AuditEventRow): AuditEvent {
  return {
    id: row.id,
    type: row.type,
    organizationId: row.organization_id,
    accountId: row.account_id,
    clientAddress: row.client_address,
    at: row.at,
    details: row.details,
  }
}
