import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { firstBreak } from '../../src/security/chain.js';
import { chainInOrder } from '../../src/security/security-events.repository.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { runScript } from '../helpers/process.js';

const KEY = 'security-log-key-for-tests-0123456789abcdef';
type Event = { seq: number; kind: string; subject: string | null; detail: Record<string, unknown> };

withServices('the security log: what it records, who reads it, and that tampering shows', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: App;
  let sql: postgres.Sql;
  let auditorToken: string;

  beforeAll(async () => {
    db = await freshDatabase();
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
    app = await buildTestApp({ DATABASE_URL: db.url, SECURITY_LOG_KEY: KEY });
    auditorToken = (await login(app, await createUser(app, ['auditor']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
    await sql?.end();
    await db?.drop();
  });

  const events = async (query = '') => {
    await app.securityLog.flush();
    const res = await app.inject({
      url: `/api/v1/security-events?limit=100${query}`,
      headers: bearer(auditorToken),
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Event[]; next_cursor: string | null }>();
  };
  const verify = () => firstBreak(KEY, chainInOrder(app.db));

  it('records logins (a name that is no user hashed), refresh rotation and reuse, logout, and denials by route and reason', async () => {
    const user = await createUser(app, ['operator']);
    const pair = await login(app, user);
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: 'not-the-password' },
    });
    expect(wrong.statusCode).toBe(401);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'nobody-by-this-name', password: 'x' },
    });
    const rotated = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: pair.refresh_token },
    });
    expect(rotated.statusCode).toBe(200);
    const reused = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: pair.refresh_token },
    });
    expect(reused.statusCode).toBe(401);
    const fresh = await login(app, user);
    expect(
      (await app.inject({ url: '/api/v1/users', headers: bearer(fresh.access_token) })).statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ url: '/api/v1/auth/me', headers: bearer('not.a.token') })).statusCode,
    ).toBe(401);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(fresh.access_token),
    });

    const { items } = await events();
    const kinds = (subject: string | null) =>
      items
        .filter((e) => e.subject === subject)
        .map((e) => e.kind)
        .reverse();
    expect(kinds(user.id)).toEqual([
      'login_succeeded',
      'login_failed',
      'refresh_rotated',
      'refresh_reused',
      'login_succeeded',
      'access_denied',
      'logout',
    ]);
    expect(items.find((e) => e.kind === 'login_failed' && e.subject === user.id)?.detail).toEqual({
      reason: 'wrong_password',
    });
    const unknown = items.find(
      (e) => e.kind === 'login_failed' && e.detail.reason === 'unknown_user',
    );
    expect(unknown?.subject).toMatch(/^username:[0-9a-f]{32}$/); // never the name itself
    expect(items.find((e) => e.kind === 'access_denied' && e.subject === user.id)?.detail).toEqual({
      route: '/api/v1/users',
      method: 'GET',
      reason: 'FORBIDDEN',
      permission: 'users:manage',
    });
    expect(
      items.find((e) => e.kind === 'access_denied' && e.subject === null)?.detail,
    ).toMatchObject({
      route: '/api/v1/auth/me',
      reason: 'UNAUTHORIZED',
    });
    // who and from where, never a secret
    const text = JSON.stringify(items);
    for (const secret of [
      user.password,
      'not-the-password',
      pair.access_token,
      pair.refresh_token,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(items[0]).toMatchObject({ source: '127.0.0.1' });
    expect((await verify()).broken).toBeNull();
  });

  it('records user changes with who made them', async () => {
    const admin = await createUser(app, ['admin']);
    const token = (await login(app, admin)).access_token;
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: bearer(token),
      payload: { username: 'clerk-1', roles: ['operator'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    await app.inject({
      method: 'POST',
      url: '/api/v1/users/clerk-1/disable',
      headers: bearer(token),
    });
    await app.inject({
      method: 'POST',
      url: '/api/v1/users/clerk-1/enable',
      headers: bearer(token),
    });
    await app.inject({ method: 'DELETE', url: '/api/v1/users/clerk-1', headers: bearer(token) });
    const { items } = await events(`&subject=${id}`);
    expect(items.map((e) => e.kind).reverse()).toEqual([
      'user_created',
      'user_disabled',
      'user_enabled',
      'user_deleted',
    ]);
    for (const e of items) expect(e.detail.by).toBe(admin.id);
    expect(items.at(-1)?.detail.roles).toBe('operator');
  });

  it('is for auditors and admins; filters by kind; pages with a cursor', async () => {
    const operator = (await login(app, await createUser(app, ['operator']))).access_token;
    expect(
      (await app.inject({ url: '/api/v1/security-events', headers: bearer(operator) })).statusCode,
    ).toBe(403);
    const logins = (await events('&kind=login_succeeded')).items;
    expect(logins.length).toBeGreaterThan(3);
    expect(logins.every((e) => e.kind === 'login_succeeded')).toBe(true);
    await app.securityLog.flush();
    const first = await app.inject({
      url: '/api/v1/security-events?limit=2&kind=login_succeeded',
      headers: bearer(auditorToken),
    });
    const page1 = first.json();
    expect(page1.items).toHaveLength(2);
    const second = await app.inject({
      url: `/api/v1/security-events?limit=2&kind=login_succeeded&cursor=${page1.next_cursor}`,
      headers: bearer(auditorToken),
    });
    const page2 = second.json();
    expect(page2.items[0].seq).toBeLessThan(page1.items[1].seq);
    const bad = await app.inject({
      url: '/api/v1/security-events?cursor=abc',
      headers: bearer(auditorToken),
    });
    expect(bad.statusCode).toBe(400);
  });

  it('two replicas appending at once keep one chain; retention leaves it alone', async () => {
    const replica = await buildTestApp({ DATABASE_URL: db.url, SECURITY_LOG_KEY: KEY });
    try {
      for (let i = 0; i < 50; i++) {
        for (const a of [app, replica]) a.securityLog.record({ kind: 'logout', subject: `r-${i}` });
      }
      await Promise.all([app.securityLog.flush(), replica.securityLog.flush()]);
    } finally {
      await replica.close();
    }
    const before = Number(
      (await sql`select count(*)::int as count from security_events`)[0]?.count,
    );
    await app.retention.purge();
    const after = Number((await sql`select count(*)::int as count from security_events`)[0]?.count);
    expect(after).toBe(before);
    const { checked, broken } = await verify();
    expect(broken).toBeNull();
    expect(checked).toBe(before);
  });

  it('the database refuses edits; an edit made anyway (trigger off) is found at its row, by the verifier and the CLI', async () => {
    await app.securityLog.flush();
    await expect(sql`update security_events set kind = 'logout' where seq = 3`).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from security_events where seq = 4`).rejects.toThrow(/append-only/);
    const env = { DATABASE_URL: db.url, SECURITY_LOG_KEY: KEY, NODE_ENV: 'test' };
    const intact = runScript('src/cli/audit-verify.ts', [], env);
    expect((await intact.exited).code, intact.output()).toBe(0);
    expect(intact.output()).toMatch(/intact: \d+ events?,/);

    await sql`alter table security_events disable trigger security_events_no_update_or_delete`;
    try {
      await sql`update security_events set detail = '{"reason":"nothing to see"}' where seq = 3`;
      expect((await verify()).broken).toEqual({
        seq: 3,
        problem: expect.stringContaining('edited'),
      });
      const broken = runScript('src/cli/audit-verify.ts', [], env);
      expect((await broken.exited).code).toBe(1);
      expect(broken.output()).toContain('BROKEN at seq 3');
      // a wrong key finds the very first row broken
      expect(
        (await firstBreak('another-key-another-key-another-key', chainInOrder(app.db))).broken?.seq,
      ).toBe(1);
    } finally {
      await sql`alter table security_events enable trigger security_events_no_update_or_delete`;
    }
  });
});
