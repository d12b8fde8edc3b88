import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import pLimit from 'p-limit';

/**
 * Password hashing with scrypt (memory-hard, in node:crypto, no native addon to build).
 * Hashes describe their own parameters, so the cost can be raised later: `needsRehash` tells
 * the login path to upgrade a hash made with older parameters.
 */

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 32 MiB per hash: memory-hard; PASSWORD_HASH_CONCURRENCY bounds how many at once. */
export const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const SALT_LENGTH = 16;

/**
 * Hashes computed at once in this process. Each holds 128·N·r bytes (32 MiB) of the libuv pool
 * while it runs: beyond the cores the process has, more at once only adds memory and keeps the
 * pool's threads from other work (docs/performance.md, "login").
 */
const hashing = pLimit(1);

/** How many password hashes may run at once (PASSWORD_HASH_CONCURRENCY). */
export function setHashConcurrency(n: number): void {
  hashing.concurrency = n;
}

/** Hashes running now, and waiting for their turn. */
export function hashesInProgress(): { active: number; waiting: number } {
  return { active: hashing.activeCount, waiting: hashing.pendingCount };
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return hashing(() => scryptKey(password, salt, params));
}

function scryptKey(password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 128 * N * r * 2;
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { N, r, p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(password: string, params = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const key = await derive(password, salt, params);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64'),
    key.toString('base64'),
  ].join('$');
}

function parse(encoded: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return undefined;
  return {
    params: { N, r, p },
    salt: Buffer.from(parts[4] ?? '', 'base64'),
    key: Buffer.from(parts[5] ?? '', 'base64'),
  };
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parse(encoded);
  if (!parsed || parsed.key.length !== KEY_LENGTH) return false;
  const candidate = await derive(password, parsed.salt, parsed.params);
  return timingSafeEqual(candidate, parsed.key);
}

export function needsRehash(encoded: string, params = DEFAULT_PARAMS): boolean {
  const parsed = parse(encoded);
  return (
    !parsed ||
    parsed.params.N !== params.N ||
    parsed.params.r !== params.r ||
    parsed.params.p !== params.p
  );
}

/** Compared against when the username does not exist, so both failures take the same time. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}

export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
