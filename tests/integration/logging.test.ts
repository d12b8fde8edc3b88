import { expect, it } from 'vitest';
import {
  bearer,
  buildTestApp,
  captureLogs,
  createUser,
  login,
  withServices,
} from '../helpers/app.js';

withServices('logs', () => {
  it('never contain passwords, tokens, authorization headers or query strings', async () => {
    const { logger, capture } = captureLogs();
    const app = await buildTestApp({}, { loggerInstance: logger });
    try {
      const user = await createUser(app, ['operator']);
      const pair = await login(app, user);
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { username: user.username, password: 'Wrong-Secret-Pass' },
      });
      const rotated = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: pair.refresh_token },
      });
      const next = rotated.json();
      await app.inject({
        url: '/api/v1/auth/me?citizen_id=1234567890',
        headers: { ...bearer(next.access_token), cookie: 'session=cookie-secret' },
      });
      // A citizen id in a path (GET /citizens/:citizen_id), and in a path no route has.
      await app.inject({ url: '/api/v1/citizens/2345678901', headers: bearer(next.access_token) });
      await app.inject({ url: '/api/v1/no-such/3456789012/x' });
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(next.access_token),
        payload: { refresh_token: next.refresh_token },
      });
      // Code that logs a whole object by mistake is caught by the redaction too.
      app.log.info(
        {
          password: 'plain-password-1',
          headers: { authorization: 'Bearer leaked-token-1', cookie: 'c=leaked-cookie-1' },
          body: {
            document_url: 'https://bucket.example/doc.pdf?X-Amz-Signature=leaked-sig-1',
            refresh_token: 'leaked-refresh-1',
          },
        },
        'careless log line',
      );

      const text = capture.text();
      for (const secret of [
        user.password,
        'Wrong-Secret-Pass',
        pair.access_token,
        pair.refresh_token,
        next.access_token,
        next.refresh_token,
        'cookie-secret',
        '1234567890',
        '2345678901',
        '3456789012',
        'plain-password-1',
        'leaked-token-1',
        'leaked-cookie-1',
        'leaked-sig-1',
        'leaked-refresh-1',
      ]) {
        expect(text).not.toContain(secret);
      }
      const careless = capture.lines.find((l) => l.msg === 'careless log line') as Record<
        string,
        any
      >;
      expect(careless.password).toBe('[REDACTED]');
      expect(careless.headers.authorization).toBe('[REDACTED]');
      expect(careless.body.document_url).toBe('[REDACTED]');

      // One line per request, JSON, with the request id, route and status.
      const done = capture.lines.filter((l) => l.msg === 'request completed') as Record<
        string,
        any
      >[];
      expect(done.length).toBeGreaterThanOrEqual(5);
      const meLine = done.find((l) => l.req.route === '/api/v1/auth/me');
      expect(meLine).toMatchObject({
        req: { method: 'GET', url: '/api/v1/auth/me' },
        res: { statusCode: 200 },
      });
      expect(typeof meLine?.request_id).toBe('string');
    } finally {
      await app.close();
    }
  });
});
