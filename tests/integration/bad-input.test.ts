import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import {
  bearer,
  buildTestApp,
  createUser,
  login,
  TEST_SECRET,
  type TestUser,
  withServices,
} from '../helpers/app.js';
import { forgeToken } from '../helpers/jwt.js';
import { expectProblem } from '../helpers/problem.js';

const LOGIN = '/api/v1/auth/login';

withServices('bad input gets a clear 4xx problem, never a 500', () => {
  let app: App;
  let user: TestUser;

  beforeAll(async () => {
    app = await buildTestApp({}, { tuning: { bodyLimitBytes: 2048 } });
    user = await createUser(app, ['operator']);
  });
  afterAll(() => app?.close());

  describe('bodies', () => {
    it('malformed JSON → 400 BAD_REQUEST', async () => {
      const res = await app.inject({
        method: 'POST',
        url: LOGIN,
        headers: { 'content-type': 'application/json' },
        payload: '{"username": "a",',
      });
      expectProblem(res, 400, 'BAD_REQUEST');
    });

    it('wrong content type → 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await app.inject({
          method: 'POST',
          url: LOGIN,
          headers: { 'content-type': type },
          payload: 'username=a&password=b',
        });
        expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
      }
    });

    it('body over the limit → 413', async () => {
      const res = await app.inject({
        method: 'POST',
        url: LOGIN,
        payload: { username: 'a', password: 'x'.repeat(5000) },
      });
      expectProblem(res, 413, 'PAYLOAD_TOO_LARGE');
    });

    it('unknown fields → 400 naming each one', async () => {
      const res = await app.inject({
        method: 'POST',
        url: LOGIN,
        payload: { username: 'a', password: 'b', admin: true, role: 'admin' },
      });
      const body = expectProblem(res, 400, 'VALIDATION_ERROR');
      expect(body.errors).toEqual(
        expect.arrayContaining([
          { field: 'body.admin', message: 'Unknown field' },
          { field: 'body.role', message: 'Unknown field' },
        ]),
      );
    });

    it('wrong types and missing fields → 400 listing the fields', async () => {
      const res = await app.inject({ method: 'POST', url: LOGIN, payload: { username: 42 } });
      const body = expectProblem(res, 400, 'VALIDATION_ERROR');
      const fields = body.errors.map((e: { field: string }) => e.field);
      expect(fields).toEqual(expect.arrayContaining(['body.username', 'body.password']));
    });

    it('empty JSON body and JSON of the wrong shape → 400', async () => {
      for (const payload of ['', '[]', '"text"', 'null', '{"__proto__": {"admin": true}}']) {
        const res = await app.inject({
          method: 'POST',
          url: LOGIN,
          headers: { 'content-type': 'application/json' },
          payload,
        });
        expect(res.statusCode, payload).toBe(400);
      }
    });
  });

  describe('tokens', () => {
    const me = (headers: Record<string, string>) => app.inject({ url: '/api/v1/auth/me', headers });
    const claims = () => {
      const now = Math.floor(Date.now() / 1000);
      return {
        sub: user.id,
        roles: ['operator'],
        jti: randomUUID(),
        fid: randomUUID(),
        iat: now,
        exp: now + 600,
        iss: 'citizen-affiliation',
        aud: 'citizen-affiliation-api',
      };
    };

    it('missing token → 401 with a Bearer challenge', async () => {
      const res = await me({});
      const body = expectProblem(res, 401, 'UNAUTHORIZED');
      expect(body.detail).toMatch(/Missing/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('a well-forged token with the right secret is accepted (control)', async () => {
      expect((await me(bearer(forgeToken(claims(), TEST_SECRET)))).statusCode).toBe(200);
    });

    const hostile: [string, () => string][] = [
      ['garbage', () => 'not.a.jwt'],
      ['another scheme', () => ''],
      [
        'signed with another secret',
        () => forgeToken(claims(), 'another-secret-that-is-long-enough-too'),
      ],
      ['alg none', () => forgeToken(claims(), '', { alg: 'none', typ: 'JWT' })],
      ['alg HS512', () => forgeToken(claims(), TEST_SECRET, { alg: 'HS512', typ: 'JWT' })],
      ['wrong issuer', () => forgeToken({ ...claims(), iss: 'someone-else' }, TEST_SECRET)],
      ['wrong audience', () => forgeToken({ ...claims(), aud: 'other-api' }, TEST_SECRET)],
      ['no jti', () => forgeToken({ ...claims(), jti: undefined }, TEST_SECRET)],
      [
        'tampered payload (roles raised, signature kept)',
        () => {
          const [h, , s] = forgeToken(claims(), TEST_SECRET).split('.');
          const raised = Buffer.from(JSON.stringify({ ...claims(), roles: ['admin'] })).toString(
            'base64url',
          );
          return `${h}.${raised}.${s}`;
        },
      ],
    ];
    for (const [name, make] of hostile) {
      it(`${name} → 401 UNAUTHORIZED`, async () => {
        const token = make();
        const res = await me(token ? bearer(token) : { authorization: 'Basic dXNlcjpwYXNz' });
        expectProblem(res, 401, 'UNAUTHORIZED');
      });
    }

    it('expired token → 401 TOKEN_EXPIRED', async () => {
      const past = Math.floor(Date.now() / 1000) - 3600;
      const token = forgeToken({ ...claims(), iat: past - 900, exp: past }, TEST_SECRET);
      expectProblem(await me(bearer(token)), 401, 'TOKEN_EXPIRED');
    });

    it('revoked token → 401 TOKEN_REVOKED', async () => {
      const pair = await login(app, user);
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/logout',
        headers: bearer(pair.access_token),
      });
      expectProblem(await me(bearer(pair.access_token)), 401, 'TOKEN_REVOKED');
    });
  });

  it('unknown routes → 404 problem; request ids are echoed only when safe', async () => {
    const res = await app.inject({
      url: '/api/v1/nothing?citizen_id=123',
      headers: { 'x-request-id': 'abc-123' },
    });
    const body = expectProblem(res, 404, 'NOT_FOUND');
    expect(body.request_id).toBe('abc-123');
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(body.instance).toBe('/api/v1/nothing');
    const unsafe = await app.inject({ url: '/health/live', headers: { 'x-request-id': 'a\nb' } });
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
