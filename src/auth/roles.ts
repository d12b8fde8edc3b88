import type { Role } from '../shared/enums.js';

/** What each permission needs. `admin` may do everything. */
export const PERMISSIONS = {
  'affiliation:check': ['operator', 'service'],
  'documents:authenticate': ['operator', 'service'],
  'history:read': ['operator', 'auditor'],
  'citizens:register': ['operator', 'service'],
  'citizens:read': ['operator', 'service', 'auditor'],
  'operators:read': ['operator', 'service', 'auditor'],
  'transfers:start': ['operator'],
  'transfers:read': ['operator', 'auditor'],
  'operator:register': [],
  'users:manage': [],
  'security:read': ['auditor'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function allows(roles: readonly Role[], permission: Permission): boolean {
  if (roles.includes('admin')) return true;
  const allowed: readonly Role[] = PERMISSIONS[permission];
  return roles.some((role) => allowed.includes(role));
}
