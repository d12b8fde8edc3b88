import { ROLES, type Role } from '../shared/enums.js';

/** AUTH_ROLE_MAP: which roles of the platform's tokens are ours (src/auth/platform-tokens.ts). */
export interface RoleMap {
  /** Where the roles are in the token: `roles`, `realm_access.roles`… */
  claim: string[];
  /** Their role names → ours; names not listed are ignored. */
  roles: Map<string, Role>;
}

/** `claim.path:theirs=ours,theirs2=ours2` (AUTH_ROLE_MAP), or a message saying what is wrong. */
export function parseRoleMap(value: string): RoleMap | string {
  const at = value.indexOf(':');
  const claim = value.slice(0, at).trim();
  if (at < 1 || !/^[\w-]+(\.[\w-]+)*$/.test(claim)) {
    return 'must be `claim.path:theirs=ours,…`, e.g. `roles:affiliation-operator=operator`';
  }
  const roles = new Map<string, Role>();
  for (const pair of value.slice(at + 1).split(',')) {
    const [theirs, ours] = pair.split('=').map((s) => s.trim());
    if (!theirs || !ROLES.includes(ours as Role)) {
      return `\`${pair.trim()}\`: must be theirs=ours, ours one of ${ROLES.join(', ')}`;
    }
    roles.set(theirs, ours as Role);
  }
  return { claim: claim.split('.'), roles };
}

/** Our roles for a verified platform token: its listed role names, mapped; others ignored. */
export function mappedRoles(payload: Record<string, unknown>, map: RoleMap): Role[] {
  let value: unknown = payload;
  for (const part of map.claim) value = (value as Record<string, unknown> | undefined)?.[part];
  const theirs = Array.isArray(value) ? value : typeof value === 'string' ? value.split(' ') : [];
  const ours = new Set<Role>();
  for (const name of theirs) {
    const role = typeof name === 'string' ? map.roles.get(name) : undefined;
    if (role) ours.add(role);
  }
  return [...ours];
}
