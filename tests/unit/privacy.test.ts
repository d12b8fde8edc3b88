import { describe, expect, it } from 'vitest';
import { citizenRefs } from '../../src/shared/citizen.js';

describe('citizen refs', () => {
  const ref = citizenRefs('a-secret-of-at-least-32-characters!!');

  it('are stable across versions: Redis keys and log lines written before still match', () => {
    // HMAC-SHA256(HMAC-SHA256(secret, "citizen-ref/v1"), id), base64url, 22 characters.
    expect(ref('1000003')).toBe('tpCdKgrrwLBplEDbP1JoaB');
  });

  it('differ by citizen and by secret, and never contain the id', () => {
    expect(ref('1000005')).not.toBe(ref('1000003'));
    expect(citizenRefs('another-secret-of-at-least-32-chars!')('1000003')).not.toBe(ref('1000003'));
    expect(ref('1000003')).not.toContain('1000003');
  });
});
