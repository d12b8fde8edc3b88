import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import {
  bearer,
  buildTestApp,
  createUser,
  login,
  type TestUser,
  withServices,
} from '../helpers/app.js';
import { respell } from '../helpers/jwt.js';

const decode = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;

withServices('auth against real Postgres and Redis', () => {
  let app: App;
  let other: App;
  let operator: TestUser;

  beforeAll(async () => {
    app = await buildTestApp(); // the contract's limit: 5 failed logins per address and user
    other = await buildTestApp();
    operator = await createUser(app, ['operator']);
  });
  afterAll(async () => {
    await app?.close();
    await other?.close();
  });

  it('logs in, says who the caller is, logs out, then refuses the old token as revoked', async () => {
    const pair = await login(app, operator);
    expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 900 });

    const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(pair.access_token) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({
      id: operator.id,
      username: operator.username,
      roles: ['operator'],
    });

    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(pair.access_token),
    });
    expect(out.statusCode).toBe(204);

    const after = await app.inject({ url: '/api/v1/auth/me', headers: bearer(pair.access_token) });
    expect(after.statusCode).toBe(401);
    expect(after.json()).toMatchObject({ code: 'TOKEN_REVOKED', status: 401 });
    // The login's refresh token died with it.
    const refresh = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: pair.refresh_token },
    });
    expect(refresh.statusCode).toBe(401);
  });

  it('shares the revocation with a second instance at once (Redis denylist)', async () => {
    const pair = await login(app, operator);
    expect(
      (await other.inject({ url: '/api/v1/auth/me', headers: bearer(pair.access_token) }))
        .statusCode,
    ).toBe(200);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(pair.access_token),
    });
    const res = await other.inject({ url: '/api/v1/auth/me', headers: bearer(pair.access_token) });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('TOKEN_REVOKED');
  });

  it('issues HS256 tokens with sub, roles, jti, iat, exp, iss and aud, for 15 minutes', async () => {
    const { access_token } = await login(app, operator);
    const header = JSON.parse(
      Buffer.from(access_token.split('.')[0] ?? '', 'base64url').toString(),
    );
    const claims = decode(access_token);
    expect(header.alg).toBe('HS256');
    expect(claims).toMatchObject({
      sub: operator.id,
      roles: ['operator'],
      iss: 'citizen-affiliation',
      aud: 'citizen-affiliation-api',
    });
    expect(typeof claims.jti).toBe('string');
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it('answers wrong username and wrong password with the same 401', async () => {
    const wrongUser = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: 'nobody-here', password: 'whatever-password' },
    });
    const wrongPassword = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: operator.username, password: 'not-the-password' },
    });
    expect(wrongUser.statusCode).toBe(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, request_id: undefined });
    expect(strip(wrongUser.json())).toEqual(strip(wrongPassword.json()));
    expect(wrongUser.json().code).toBe('UNAUTHORIZED');
  });

  it('accepts the username in any case', async () => {
    const pair = await login(app, { ...operator, username: operator.username.toUpperCase() });
    expect(decode(pair.access_token).sub).toBe(operator.id);
  });

  it('locks a username for an address after 5 failures, with Retry-After, even for the right password', async () => {
    const victim = await createUser(app, ['auditor']);
    const attempt = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: victim.username, password },
      });
    for (let i = 0; i < 5; i++) expect((await attempt('wrong-password')).statusCode).toBe(401);
    const locked = await attempt(victim.password);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('RATE_LIMITED');
    const retryAfter = Number(locked.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // Shared: the second instance refuses too.
    const elsewhere = await other.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: victim.username, password: victim.password },
    });
    expect(elsewhere.statusCode).toBe(429);
    // Another address is not locked out.
    const fromElsewhere = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: '10.1.2.3',
      payload: { username: victim.username, password: victim.password },
    });
    expect(fromElsewhere.statusCode).toBe(200);

    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^auth_login_failures_total [1-9]\d*$/m);
    expect(metrics.body).toMatch(
      /^http_rate_limited_total\{route="\/api\/v1\/auth\/login"\} [1-9]/m,
    );
  });

  it('rotates refresh tokens, and a reused one revokes the whole family', async () => {
    const first = await login(app, operator);
    const rotate = (token: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: token },
      });

    const second = await rotate(first.refresh_token);
    expect(second.statusCode).toBe(200);
    const pair2 = second.json();
    expect(pair2.refresh_token).not.toBe(first.refresh_token);
    expect(
      (await app.inject({ url: '/api/v1/auth/me', headers: bearer(pair2.access_token) }))
        .statusCode,
    ).toBe(200);

    // The first token again: theft. 401, and everything of that login dies.
    const reuse = await rotate(first.refresh_token);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().detail).toMatch(/already used/);
    expect((await rotate(pair2.refresh_token)).statusCode).toBe(401);
    const me = await other.inject({ url: '/api/v1/auth/me', headers: bearer(pair2.access_token) });
    expect(me.json().code).toBe('TOKEN_REVOKED');
    expect((await app.inject({ url: '/metrics' })).body).toMatch(
      /^auth_tokens_revoked_total\{reason="refresh_reuse"\} [1-9]/m,
    );

    // Another login of the same user is untouched.
    const unrelated = await login(app, operator);
    expect((await rotate(unrelated.refresh_token)).statusCode).toBe(200);
  });

  it('lets only one of two concurrent refreshes with the same token win', async () => {
    const pair = await login(app, operator);
    const results = await Promise.all(
      [app, other].map((instance) =>
        instance.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          payload: { refresh_token: pair.refresh_token },
        }),
      ),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
  });

  it('refuses an unknown refresh token', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refresh_token: 'not-a-token' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHORIZED');
  });

  it('logout with a refresh token of another login revokes that login too', async () => {
    const a = await login(app, operator);
    const b = await login(app, operator);
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: bearer(a.access_token),
      payload: { refresh_token: b.refresh_token },
    });
    expect(res.statusCode).toBe(204);
    const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(b.access_token) });
    expect(me.json().code).toBe('TOKEN_REVOKED');
  });

  it('refuses a valid token spelled another way (same signature bytes, other last character)', async () => {
    const { access_token } = await login(app, operator);
    const res = await app.inject({
      url: '/api/v1/auth/me',
      headers: bearer(respell(access_token)),
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    // The canonical token itself still works.
    const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(access_token) });
    expect(me.statusCode).toBe(200);
  });

  it('applies role permissions: admin everything, auditor history only', async () => {
    const scoped = await buildTestApp();
    scoped.get(
      '/probe/check',
      { onRequest: [scoped.authenticate, scoped.authorize('affiliation:check')] },
      async () => ({ ok: true }),
    );
    scoped.get(
      '/probe/history',
      { onRequest: [scoped.authenticate, scoped.authorize('history:read')] },
      async () => ({ ok: true }),
    );
    try {
      const cases: [string[], string, number][] = [
        [['admin'], '/probe/check', 200],
        [['operator'], '/probe/check', 200],
        [['service'], '/probe/check', 200],
        [['auditor'], '/probe/check', 403],
        [['auditor'], '/probe/history', 200],
        [['service'], '/probe/history', 403],
      ];
      for (const [roles, url, status] of cases) {
        const user = await createUser(scoped, roles as never);
        const { access_token } = await login(scoped, user);
        const res = await scoped.inject({ url, headers: bearer(access_token) });
        expect({ roles, url, status: res.statusCode }).toEqual({ roles, url, status });
        if (status === 403) expect(res.json().code).toBe('FORBIDDEN');
      }
    } finally {
      await scoped.close();
    }
  });
});
