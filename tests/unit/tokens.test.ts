import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hasCanonicalSignature } from '../../src/auth/tokens.js';
import { respell } from '../helpers/jwt.js';

describe('JWT signature spelling', () => {
  const body = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0';
  const token = `${body}.${createHmac('sha256', 'k').update(body).digest('base64url')}`;

  it('accepts the canonical spelling', () => {
    expect(hasCanonicalSignature(token)).toBe(true);
  });

  it('refuses another spelling of the same bytes', () => {
    const other = respell(token);
    expect(other).not.toBe(token);
    const sig = (t: string) => Buffer.from(t.split('.')[2] ?? '', 'base64url');
    expect(sig(other).equals(sig(token))).toBe(true); // what a lenient decoder sees
    expect(hasCanonicalSignature(other)).toBe(false);
  });

  it('refuses padding and characters outside base64url', () => {
    expect(hasCanonicalSignature(`${token}=`)).toBe(false);
    expect(hasCanonicalSignature(`${token.slice(0, -1)}+`)).toBe(false);
  });
});
