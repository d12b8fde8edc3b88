import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashesInProgress,
  hashPassword,
  needsRehash,
  setHashConcurrency,
  verifyPassword,
} from '../../src/auth/passwords.js';

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('passwords (scrypt)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', hash)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same', FAST)).not.toBe(await hashPassword('same', FAST));
  });

  it('treats canonically equal unicode as the same password', async () => {
    const hash = await hashPassword('caf\u00e9', FAST);
    expect(await verifyPassword('cafe\u0301', hash)).toBe(true);
  });

  it('refuses malformed hashes instead of throwing', async () => {
    for (const bad of [
      '',
      'plain',
      'scrypt$x$8$1$a$b',
      'bcrypt$1$2$3$4$5',
      'scrypt$1024$8$1$c2FsdA==$c2hvcnQ=',
    ]) {
      expect(await verifyPassword('x', bad)).toBe(false);
    }
  });

  it('asks for a rehash when the parameters changed', async () => {
    const weak = await hashPassword('pw', FAST);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword('pw'))).toBe(false);
    expect(await verifyPassword('pw', weak)).toBe(true);
  });

  it('generates long random passwords', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(generatePassword()).not.toBe(a);
  });

  it('computes at most PASSWORD_HASH_CONCURRENCY hashes at once; the others wait their turn', async () => {
    setHashConcurrency(2);
    let most = 0;
    const sampler = setInterval(() => {
      most = Math.max(most, hashesInProgress().active);
    }, 1);
    const hashes = Array.from({ length: 6 }, () => hashPassword('x', { N: 2 ** 14, r: 8, p: 1 }));
    expect(hashesInProgress()).toEqual({ active: 2, waiting: 4 });
    await Promise.all(hashes);
    clearInterval(sampler);
    expect(most).toBe(2);
    expect(hashesInProgress()).toEqual({ active: 0, waiting: 0 });
  });
});
