/**
 * What the OpenAPI document says of each route beyond its schemas: a name, a summary, and the
 * problem codes the route itself can answer with. The codes every route of a kind shares (bad
 * JSON, a missing token, a missing permission) are added by `buildOpenApi` from the route
 * table, so this lists only what is particular to each.
 */
export const routeDocs: Record<string, { operationId: string; summary: string; tag: string; errors: string[] }> = {
  'POST /org/create': {
    operationId: 'createOrganization',
    tag: 'Organizations',
    summary: 'Create an organization and its owner',
    errors: [
      'ORGANIZATION_NAME_TAKEN',
      'ADMIN_EMAIL_TAKEN',
      'SLUG_TAKEN',
      'LIMIT_REACHED',
      'TOO_MANY_REQUESTS',
      'CAPACITY_EXCEEDED',
    ],
  },
  'GET /org/get': {
    operationId: 'getOrganization',
    tag: 'Organizations',
    // A suspended organization answers as an active one: a stranger is told nothing of it.
    summary: 'Find an organization by name or slug',
    errors: ['ORGANIZATION_NOT_FOUND'],
  },
  'POST /admin/login': {
    operationId: 'login',
    tag: 'Sessions',
    summary: 'Log in with email and password',
    errors: [
      'INVALID_CREDENTIALS',
      'ORGANIZATION_REQUIRED',
      'ORGANIZATION_NOT_FOUND',
      'ORGANIZATION_SUSPENDED',
      'TOO_MANY_REQUESTS',
    ],
  },
  'POST /admin/switch': {
    operationId: 'switchOrganization',
    tag: 'Sessions',
    summary: 'Get a token pair for another organization of the same account',
    errors: ['ORGANIZATION_NOT_FOUND'],
  },
  'POST /admin/refresh': {
    operationId: 'refresh',
    tag: 'Sessions',
    summary: 'Swap a refresh token for a new token pair',
    errors: ['REFRESH_TOKEN_INVALID', 'ORGANIZATION_SUSPENDED'],
  },
  'POST /admin/logout': {
    operationId: 'logout',
    tag: 'Sessions',
    summary: 'End a session, by its access token or its refresh token (RFC 7009)',
    errors: [],
  },
  'GET /org/audit': {
    operationId: 'listAuditEvents',
    tag: 'Organizations',
    summary: 'The organization’s audit trail, newest first',
    errors: ['NOT_ORGANIZATION_ADMIN'],
  },
  'PUT /org/update': {
    operationId: 'updateOrganization',
    tag: 'Organizations',
    summary: 'Rename the organization or change its slug; change your own email or password',
    errors: [
      'ORGANIZATION_NAME_TAKEN',
      'SLUG_TAKEN',
      'ADMIN_EMAIL_TAKEN',
      'PERMISSION_DENIED',
      'NOT_ORGANIZATION_ADMIN',
      'ORGANIZATION_NOT_FOUND',
      'TOO_MANY_REQUESTS',
    ],
  },
  'DELETE /org/delete': {
    operationId: 'deleteOrganization',
    tag: 'Organizations',
    summary: 'Delete the organization (owner only)',
    errors: ['ORGANIZATION_NOT_FOUND', 'NOT_ORGANIZATION_ADMIN', 'PERMISSION_DENIED'],
  },
  'POST /org/domains': {
    operationId: 'addDomain',
    tag: 'Domains',
    summary: 'Add a custom domain',
    errors: ['DOMAIN_TAKEN', 'ORGANIZATION_NOT_FOUND'],
  },
  'GET /org/domains': {
    operationId: 'listDomains',
    tag: 'Domains',
    summary: 'The organization’s custom domains',
    errors: ['ORGANIZATION_NOT_FOUND'],
  },
  'DELETE /org/domains': {
    operationId: 'removeDomain',
    tag: 'Domains',
    summary: 'Remove a custom domain',
    errors: ['DOMAIN_NOT_FOUND'],
  },
  'GET /org/members': {
    operationId: 'listMembers',
    tag: 'Members',
    summary: 'The organization’s members',
    errors: ['PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'PATCH /org/members/{id}': {
    operationId: 'changeMemberRole',
    tag: 'Members',
    summary: 'Give a member another role',
    errors: ['MEMBER_NOT_FOUND', 'PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'DELETE /org/members/{id}': {
    operationId: 'removeMember',
    tag: 'Members',
    summary: 'Remove a member; their sessions end at once',
    errors: ['MEMBER_NOT_FOUND', 'PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'POST /org/leave': {
    operationId: 'leaveOrganization',
    tag: 'Members',
    summary: 'Leave the organization (not the owner)',
    errors: ['PERMISSION_DENIED', 'MEMBER_NOT_FOUND', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'POST /org/transfer-ownership': {
    operationId: 'transferOwnership',
    tag: 'Members',
    summary: 'Make another member the owner (owner only)',
    errors: ['MEMBER_NOT_FOUND', 'PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'POST /org/invitations': {
    operationId: 'invite',
    tag: 'Invitations',
    summary: 'Invite an email with a role below your own',
    errors: [
      'PERMISSION_DENIED',
      'ALREADY_A_MEMBER',
      'INVITATION_PENDING',
      'LIMIT_REACHED',
      'NOT_ORGANIZATION_ADMIN',
      'ORGANIZATION_NOT_FOUND',
    ],
  },
  'GET /org/invitations': {
    operationId: 'listInvitations',
    tag: 'Invitations',
    summary: 'The organization’s pending invitations',
    errors: ['PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'DELETE /org/invitations/{id}': {
    operationId: 'cancelInvitation',
    tag: 'Invitations',
    summary: 'Cancel a pending invitation',
    errors: ['INVITATION_NOT_FOUND', 'PERMISSION_DENIED', 'NOT_ORGANIZATION_ADMIN', 'ORGANIZATION_NOT_FOUND'],
  },
  'POST /org/invitations/accept': {
    operationId: 'acceptInvitation',
    tag: 'Invitations',
    summary: 'Accept an invitation: a new account, or your existing one with its password',
    errors: ['INVITATION_INVALID', 'ORGANIZATION_NOT_FOUND', 'ALREADY_A_MEMBER', 'LIMIT_REACHED', 'TOO_MANY_REQUESTS'],
  },
  'POST /org/invitations/accept as host user': {
    operationId: 'acceptInvitation',
    tag: 'Invitations',
    summary: 'Accept an invitation as the signed-in user (sent to their email)',
    errors: [
      'INVITATION_INVALID',
      'ORGANIZATION_NOT_FOUND',
      'ALREADY_A_MEMBER',
      'LIMIT_REACHED',
      'TOO_MANY_REQUESTS',
      'ADMIN_EMAIL_TAKEN',
    ],
  },
  'POST /org/create as host user': {
    operationId: 'createOrganization',
    tag: 'Organizations',
    summary: 'Create an organization owned by the signed-in user',
    errors: ['ORGANIZATION_NAME_TAKEN', 'SLUG_TAKEN', 'LIMIT_REACHED', 'CAPACITY_EXCEEDED', 'ADMIN_EMAIL_TAKEN'],
  },
}
