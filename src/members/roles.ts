/**
 * Roles and what they may do. `owner`, `admin` and `member` are built in and ranked in that
 * order; custom roles (`createTenancy({ roles: { editor: ['notes:read', 'notes:write'] } })`)
 * rank between admin and member. Rank decides who may manage whom: nobody but the owner assigns,
 * changes or removes a role at or above their own.
 */

/** The permissions tenantry's own routes check. Any other `area:action` name is the host app's. */
export const ORGANIZATION_PERMISSIONS = [
  'org:update',
  'org:delete',
  'members:read',
  'members:invite',
  'members:update',
  'members:remove',
  'audit:read',
  'domains:manage',
] as const
export type OrganizationPermission = (typeof ORGANIZATION_PERMISSIONS)[number]

/** The roles tenantry defines. The owner is whichever membership the organization names; nobody is assigned `owner`. */
export const BUILT_IN_ROLES = ['owner', 'admin', 'member'] as const

const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/
const PERMISSION = /^[a-z][a-z0-9_.-]{0,63}:[a-z*][a-z0-9_.*-]{0,63}$/
const RANK = { owner: 3, admin: 2, custom: 1, member: 0, unknown: -1 }

/** `createTenancy({ roles })`: custom roles and their permissions; `member` may be given permissions too. */
export type RoleDefinitions = Record<string, readonly string[]>

export class Roles {
  readonly #custom: ReadonlyMap<string, ReadonlySet<string>>
  readonly #member: ReadonlySet<string>

  constructor(definitions: RoleDefinitions | undefined) {
    if (
      definitions !== undefined &&
      (typeof definitions !== 'object' || definitions === null || Array.isArray(definitions))
    ) {
      throw new TypeError("tenantry: roles must be an object such as { editor: ['notes:read', 'notes:write'] }")
    }
    const custom = new Map<string, ReadonlySet<string>>()
    let member: ReadonlySet<string> = new Set()
    for (const [name, permissions] of Object.entries(definitions ?? {})) {
      if (!ROLE_NAME.test(name))
        throw new TypeError(
          `tenantry: role name ${JSON.stringify(name)} must be lower-case letters, digits, - or _ (up to 32)`,
        )
      if (name === 'owner' || name === 'admin')
        throw new TypeError(`tenantry: the ${name} role is built in and cannot be redefined`)
      if (
        !Array.isArray(permissions) ||
        !permissions.every((permission) => typeof permission === 'string' && PERMISSION.test(permission))
      ) {
        throw new TypeError(
          `tenantry: role ${name} needs a list of permissions named area:action, such as 'notes:write'`,
        )
      }
      if (name === 'member') member = new Set(permissions)
      else custom.set(name, new Set(permissions))
    }
    this.#custom = custom
    this.#member = member
  }

  /**
   * Whether `role` can be given to a member: `admin`, `member` or a custom role. Not `owner`:
   * ownership moves only by transfer.
   */
  assignable(role: string): boolean {
    return role === 'admin' || role === 'member' || this.#custom.has(role)
  }

  /**
   * Whether `role` grants `permission`. The owner has every permission; an admin every one but
   * `org:delete`; a member and custom roles what they were given; a role the app no longer
   * defines (a membership can outlive its role's definition), nothing.
   */
  can(role: string, permission: string): boolean {
    if (role === 'owner') return true
    if (role === 'admin') return permission !== 'org:delete'
    if (role === 'member') return this.#member.has(permission)
    return this.#custom.get(role)?.has(permission) ?? false
  }

  /**
   * May someone with role `actor` give (or take away) role `target`? Only a role ranked below
   * their own: nobody manages an owner, the owner every other role. A role no longer defined
   * ranks below `member`, so its holders can still be reassigned or removed, and grants no
   * right to manage anyone.
   */
  mayManage(actor: string, target: string): boolean {
    return this.#rank(target) < this.#rank(actor)
  }

  #rank(role: string): number {
    if (role === 'owner' || role === 'admin' || role === 'member') return RANK[role]
    return this.#custom.has(role) ? RANK.custom : RANK.unknown
  }

  static isPermission(value: unknown): value is string {
    return typeof value === 'string' && PERMISSION.test(value)
  }
}

/** The role a membership has: `owner` for the one the organization names, its stored role otherwise. */
export function effectiveRole(organization: { ownerId: string }, membershipId: string, storedRole: string): string {
  return organization.ownerId === membershipId ? 'owner' : storedRole
}
