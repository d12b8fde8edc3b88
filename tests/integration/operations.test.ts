import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

import { eventually } from '../helpers/wait.js';

withServices('operations routes', () => {
  let app: App;
  beforeAll(async () => {
    app = await buildTestApp({ CORS_ORIGINS: 'https://app.example.org' });
  });
  afterAll(() => app?.close());

  it('/health/live and /health/ready answer 200 with Postgres and Redis up', async () => {
    expect((await app.inject({ url: '/health/live' })).json()).toEqual({ status: 'live' });
    const ready = await app.inject({ url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', checks: { postgres: 'up', redis: 'up' } });
  });

  it('/metrics shows HTTP histograms by route and status, process and auth metrics', async () => {
    const user = await createUser(app, ['auditor']);
    await login(app, user);
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { username: user.username, password: 'wrong-password' },
    });
    const res = await app.inject({ url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(
      /^http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/api\/v1\/auth\/login",status_code="200"\} \d+/m,
    );
    expect(res.body).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(res.body).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect(res.body).toMatch(/^auth_login_failures_total [1-9]/m);
    expect(res.body).toMatch(/^# TYPE auth_tokens_revoked_total counter/m);
    expect(res.body).toMatch(/^# TYPE http_rate_limited_total counter/m);
  });

  it('/docs serves Swagger UI and /docs/json documents every route with its schemas', async () => {
    const ui = await app.inject({ url: '/docs/' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toMatch(/text\/html/);
    const spec = (await app.inject({ url: '/docs/json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths).sort()).toEqual([
      '/api/transferCitizen',
      '/api/transferCitizenConfirm',
      '/api/v1/affiliation/check',
      '/api/v1/affiliation/checks',
      '/api/v1/auth/login',
      '/api/v1/auth/logout',
      '/api/v1/auth/me',
      '/api/v1/auth/refresh',
      '/api/v1/citizens',
      '/api/v1/citizens/{citizen_id}',
      '/api/v1/documents/authenticate',
      '/api/v1/documents/authentications/{id}',
      '/api/v1/operator/registration',
      '/api/v1/operators',
      '/api/v1/security-events',
      '/api/v1/transfers',
      '/api/v1/transfers/{transfer_id}',
      '/api/v1/users',
      '/api/v1/users/{username}',
      '/api/v1/users/{username}/disable',
      '/api/v1/users/{username}/enable',
      '/health/live',
      '/health/ready',
    ]);
    const loginOp = spec.paths['/api/v1/auth/login'].post;
    expect(Object.keys(loginOp.requestBody.content['application/json'].schema.properties)).toEqual([
      'username',
      'password',
    ]);
    expect(Object.keys(loginOp.responses)).toEqual(['200', '400', '401', '429']);
    expect(spec.paths['/api/v1/auth/me'].get.security).toEqual([{ bearerAuth: [] }]);
    const checkOp = spec.paths['/api/v1/affiliation/check'].post;
    expect(checkOp.parameters.map((p: { name: string }) => p.name)).toEqual(['idempotency-key']);
    expect(Object.keys(checkOp.responses)).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '415',
      '429',
      '503',
    ]);
  });

  it('sends security headers, and CORS only to allowed origins', async () => {
    const allowed = await app.inject({
      url: '/health/live',
      headers: { origin: 'https://app.example.org' },
    });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.org');
    expect(allowed.headers['x-content-type-options']).toBe('nosniff');
    expect(allowed.headers['strict-transport-security']).toBeDefined();
    expect(allowed.headers['content-security-policy']).toContain("default-src 'self'");
    const denied = await app.inject({
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    });
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
  });
});

withServices('rate limit', () => {
  it('limits the API per client address with 429 + Retry-After, but never health or metrics', async () => {
    const app = await buildTestApp({ RATE_LIMIT_MAX: '3' });
    try {
      const call = () =>
        app.inject({
          method: 'POST',
          url: '/api/v1/auth/refresh',
          remoteAddress: '10.9.9.9',
          payload: { refresh_token: 'x' },
        });
      for (let i = 0; i < 3; i++) expect((await call()).statusCode).toBe(401);
      const limited = await call();
      expect(limited.statusCode).toBe(429);
      expect(limited.json().code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) {
        expect(
          (await app.inject({ url: '/health/live', remoteAddress: '10.9.9.9' })).statusCode,
        ).toBe(200);
      }
      expect((await app.inject({ url: '/metrics' })).body).toMatch(
        /^http_rate_limited_total\{route="\/api\/v1\/auth\/refresh"\} 1$/m,
      );
    } finally {
      await app.close();
    }
  });
});

withServices('dependency outages', () => {
  const databaseUrl = inject('databaseUrl') as string;
  const redisUrl = inject('redisUrl') as string;

  describe('Redis cut', () => {
    let proxy: TcpProxy;
    let app: App;
    beforeAll(async () => {
      proxy = await TcpProxy.forUrl(redisUrl).start();
      app = await buildTestApp(
        { REDIS_URL: proxy.urlFor(redisUrl) },
        { tuning: { redisCommandTimeoutMs: 300 } },
      );
    });
    afterAll(async () => {
      await app?.close();
      await proxy?.stop();
    });

    it('turns /health/ready 503 naming redis, fails protected routes closed, and recovers by itself', async () => {
      const user = await createUser(app, ['operator']);
      const live = await login(app, user);
      const revoked = await login(app, user);
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(revoked.access_token),
      });

      proxy.cut();
      await eventually(
        async () => (await app.inject({ url: '/health/ready' })).statusCode === 503,
        10_000,
      );
      const ready = await app.inject({ url: '/health/ready' });
      expect(ready.json()).toMatchObject({ status: 'unavailable', down: ['redis'] });
      expect(ready.headers['retry-after']).toBeDefined();

      const started = Date.now();
      const during = await app.inject({
        url: '/api/v1/auth/me',
        headers: bearer(live.access_token),
      });
      expect(during.statusCode).toBe(503);
      expect(during.json().code).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3000);
      const loginDuring = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: user.username, password: user.password },
      });
      expect(loginDuring.statusCode).toBe(503);
      expect(loginDuring.json()).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        detail: expect.stringMatching(/redis/),
      });
      expect(loginDuring.headers['retry-after']).toBe('5');

      await proxy.restore();
      await eventually(
        async () => (await app.inject({ url: '/health/ready' })).statusCode === 200,
        10_000,
      );
      const after = await app.inject({
        url: '/api/v1/auth/me',
        headers: bearer(live.access_token),
      });
      expect(after.statusCode).toBe(200);
      const stillRevoked = await app.inject({
        url: '/api/v1/auth/me',
        headers: bearer(revoked.access_token),
      });
      expect(stillRevoked.json().code).toBe('TOKEN_REVOKED');
    });
  });

  describe('Postgres cut', () => {
    it('turns /health/ready 503 naming postgres, and back to 200 when it returns', async () => {
      const proxy = await TcpProxy.forUrl(databaseUrl).start();
      const app = await buildTestApp({ DATABASE_URL: proxy.urlFor(databaseUrl) });
      try {
        expect((await app.inject({ url: '/health/ready' })).statusCode).toBe(200);
        const user = await createUser(app, ['operator']);
        const { access_token } = await login(app, user);
        proxy.cut();
        const started = Date.now();
        const me = await app.inject({ url: '/api/v1/auth/me', headers: bearer(access_token) });
        expect(me.statusCode).toBe(503);
        expect(me.json()).toMatchObject({
          code: 'SERVICE_UNAVAILABLE',
          detail: expect.stringMatching(/postgres/),
        });
        expect(Date.now() - started).toBeLessThan(8000);
        const down = await app.inject({ url: '/health/ready' });
        expect(down.statusCode).toBe(503);
        expect(down.json()).toMatchObject({ down: ['postgres'], checks: { redis: 'up' } });
        await proxy.restore();
        await eventually(
          async () => (await app.inject({ url: '/health/ready' })).statusCode === 200,
          10_000,
        );
      } finally {
        await app.close();
        await proxy.stop();
      }
    });
  });

  it('refuses to start when Redis is unreachable, saying so', async () => {
    await expect(buildTestApp({ REDIS_URL: 'redis://127.0.0.1:1' })).rejects.toThrow(
      /Redis is not reachable/,
    );
  });

  it('refuses to start when Postgres is unreachable, saying so', async () => {
    await expect(
      buildTestApp({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' }),
    ).rejects.toThrow(/Database is not usable \(postgres\)/);
  });
});
