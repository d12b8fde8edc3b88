import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import {
  type AccessClaims,
  denyUserTokens,
  SessionService,
} from '../../src/auth/sessions.service.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { users } from '../../src/auth/users.table.js';
import type { AppError } from '../../src/shared/errors.js';
import { MemoryStore } from '../../src/stores/memory-store.js';

/** Token logic on its own: in-process PGlite, memory store, a fake signer and clock. */
describe('SessionService', () => {
  let database: Database;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const store = new MemoryStore(undefined, () => clock);
  const signed: AccessClaims[] = [];
  const events: string[] = [];
  let sessions: SessionService;

  beforeAll(async () => {
    database = await createDatabase({ dataDir: 'memory://' });
    await database.migrate();
    sessions = new SessionService({
      db: database.db,
      store,
      sign: (claims) => {
        signed.push(claims);
        return `token-${signed.length}`;
      },
      accessTtlSeconds: 900,
      refreshTtlSeconds: 3600,
      maxLoginFailures: 2,
      loginFailureWindowSeconds: 60,
      onLoginFailed: () => events.push('login_failed'),
      onTokensRevoked: (reason) => events.push(`revoked:${reason}`),
      now: () => new Date(clock),
    });
    await insertUser(database.db, {
      username: 'Alice',
      passwordHash: await hashPassword('alice-password', { N: 1024, r: 8, p: 1 }),
      roles: ['operator'],
    });
  });
  afterAll(async () => {
    store.close();
    await database.close();
  });

  /** Claims of a token issued now, of no revoked login unless told. */
  const anyToken = (claims: { fid?: string; sub?: string }) => ({
    jti: 'any',
    fid: 'no-family',
    sub: 'no-user',
    iat: Math.floor(clock / 1000),
    ...claims,
  });

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (err: AppError) => `${err.status} ${err.code}`,
    );

  it('logs in case-insensitively and upgrades a weak hash', async () => {
    const pair = await sessions.login('ALICE ', 'alice-password', '1.1.1.1');
    expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    const [row] = await database.db.select().from(users).where(eq(users.username, 'alice'));
    expect(row?.passwordHash).toMatch(/^scrypt\$32768\$/);
    expect(signed.at(-1)).toMatchObject({ sub: row?.id, roles: ['operator'] });
  });

  it('counts failures per address and username, and a success clears them', async () => {
    expect(await codeOf(sessions.login('alice', 'wrong', '2.2.2.2'))).toBe('401 UNAUTHORIZED');
    expect(await codeOf(sessions.login('alice', 'alice-password', '2.2.2.2'))).toBe('ok');
    expect(await codeOf(sessions.login('alice', 'wrong', '2.2.2.2'))).toBe('401 UNAUTHORIZED');
    expect(await codeOf(sessions.login('alice', 'wrong', '2.2.2.2'))).toBe('401 UNAUTHORIZED');
    expect(await codeOf(sessions.login('alice', 'alice-password', '2.2.2.2'))).toBe(
      '429 RATE_LIMITED',
    );
    clock += 61_000;
    expect(await codeOf(sessions.login('alice', 'alice-password', '2.2.2.2'))).toBe('ok');
    expect(events.filter((e) => e === 'login_failed')).toHaveLength(3);
  });

  it('refuses an expired refresh token', async () => {
    const pair = await sessions.login('alice', 'alice-password', '3.3.3.3');
    clock += 3601_000;
    expect(await codeOf(sessions.refresh(pair.refresh_token))).toBe('401 UNAUTHORIZED');
  });

  it('keeps the family across rotations and denies the whole family on reuse', async () => {
    const first = await sessions.login('alice', 'alice-password', '4.4.4.4');
    const fid = signed.at(-1)?.fid as string;
    const second = await sessions.refresh(first.refresh_token);
    expect(signed.at(-1)?.fid).toBe(fid);
    expect(await sessions.isRevoked(anyToken({ fid }))).toBe(false);
    expect(await codeOf(sessions.refresh(first.refresh_token))).toBe('401 UNAUTHORIZED');
    expect(await sessions.isRevoked(anyToken({ fid }))).toBe(true);
    expect(await codeOf(sessions.refresh(second.refresh_token))).toBe('401 UNAUTHORIZED');
    expect(events).toContain('revoked:refresh_reuse');
    // The family's denial lasts one access-token lifetime, then tokens have expired anyway.
    clock += 900_000;
    expect(await sessions.isRevoked(anyToken({ fid }))).toBe(false);
  });

  it('refuses a disabled user at login and at refresh', async () => {
    const pair = await sessions.login('alice', 'alice-password', '5.5.5.5');
    await database.db
      .update(users)
      .set({ disabledAt: new Date(clock) })
      .where(eq(users.username, 'alice'));
    expect(await codeOf(sessions.refresh(pair.refresh_token))).toBe('401 UNAUTHORIZED');
    expect(await codeOf(sessions.login('alice', 'alice-password', '5.5.5.5'))).toBe(
      '401 UNAUTHORIZED',
    );
  });

  it("refuses a stopped user's tokens issued up to then, for one access lifetime", async () => {
    const before = anyToken({ sub: 'bob' });
    expect(await sessions.isRevoked(before)).toBe(false);
    await denyUserTokens(store, 'bob', 900, new Date(clock));
    expect(await sessions.isRevoked(before)).toBe(true);
    expect(await sessions.isRevoked(anyToken({ sub: 'carol' }))).toBe(false);
    clock += 2000; // enabled again and logged in later: a new token is accepted
    expect(await sessions.isRevoked(anyToken({ sub: 'bob' }))).toBe(false);
    expect(await sessions.isRevoked(before)).toBe(true);
    clock += 900_000; // the mark outlives every token it refuses, then goes
    expect(await store.get('denylist:user:bob')).toBeNull();
  });
});
