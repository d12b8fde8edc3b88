import { describe, expect, it } from 'vitest';
import { allows } from '../../src/auth/roles.js';

describe('roles', () => {
  it('follows the contract: admin everything, operator all, service no history, auditor history only', () => {
    const table = {
      admin: [true, true, true],
      operator: [true, true, true],
      service: [true, true, false],
      auditor: [false, false, true],
    } as const;
    for (const [role, expected] of Object.entries(table)) {
      const actual = (['affiliation:check', 'documents:authenticate', 'history:read'] as const).map(
        (p) => allows([role as keyof typeof table], p),
      );
      expect({ role, actual }).toEqual({ role, actual: [...expected] });
    }
    expect(allows([], 'history:read')).toBe(false);
    expect(allows(['auditor', 'service'], 'affiliation:check')).toBe(true);
  });
});
