import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { expectProblem } from '../helpers/problem.js';

withServices('admin API: /api/v1/users', () => {
  let app: App;
  let admin: string;
  const name = () => `usr-${Math.random().toString(36).slice(2, 10)}`;
  const call = (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    token: string,
    payload?: Record<string, unknown>,
  ) => app.inject({ method, url: `/api/v1/users${url}`, headers: bearer(token), payload });

  beforeAll(async () => {
    app = await buildTestApp();
    admin = (await login(app, await createUser(app, ['admin']))).access_token;
  });
  afterAll(async () => {
    await app?.close();
  });

  it('creates a user with a generated password shown once, which logs in; a taken name is 409', async () => {
    const username = name();
    const res = await call('POST', '', admin, { username, roles: ['service', 'service'] });
    expect(res.statusCode).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json();
    expect(body).toMatchObject({ username, roles: ['service'], disabled: false });
    expect(body.password).toMatch(/^[\w-]{20,}$/);
    await login(app, { username, password: body.password });

    const listed = (await call('GET', '', admin)).json().items as { username: string }[];
    expect(listed.map((u) => u.username)).toContain(username);
    expect(JSON.stringify(listed)).not.toContain('password');

    expectProblem(
      await call('POST', '', admin, { username, roles: ['auditor'] }),
      409,
      'USER_EXISTS',
    );
    const withPassword = await call('POST', '', admin, {
      username: name(),
      roles: ['auditor'],
      password: 'chosen-by-the-admin-1',
    });
    expect(withPassword.statusCode).toBe(201);
    expect(withPassword.json().password).toBeUndefined();
  });

  it('validates: name, roles, password length, unknown fields', async () => {
    for (const payload of [
      { username: 'x', roles: ['admin'] },
      { username: name(), roles: [] },
      { username: name(), roles: ['root'] },
      { username: name(), roles: ['admin'], password: 'short' },
      { username: name(), roles: ['admin'], extra: true },
    ]) {
      expectProblem(await call('POST', '', admin, payload), 400, 'VALIDATION_ERROR');
    }
  });

  it('disable refuses the tokens a user holds at once; enable lets it log in again; delete ends it', async () => {
    const user = await createUser(app, ['operator']);
    const pair = await login(app, user);
    const me = (token: string) => app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });
    expect((await me(pair.access_token)).statusCode).toBe(200);

    const disabled = await call('POST', `/${user.username}/disable`, admin);
    expect(disabled.json()).toMatchObject({ username: user.username, disabled: true });
    expectProblem(await me(pair.access_token), 401, 'TOKEN_REVOKED');
    await expect(login(app, user)).rejects.toThrow(/401/);

    expect((await call('POST', `/${user.username}/enable`, admin)).json().disabled).toBe(false);
    const again = await login(app, user);
    expect((await call('DELETE', `/${user.username}`, admin)).statusCode).toBe(204);
    expectProblem(await me(again.access_token), 401, 'TOKEN_REVOKED');
    expectProblem(await call('DELETE', `/${user.username}`, admin), 404, 'NOT_FOUND');
    expectProblem(await call('POST', '/nobody-here/disable', admin), 404, 'NOT_FOUND');
  });

  it('is for admins only', async () => {
    for (const role of ['operator', 'service', 'auditor'] as const) {
      const token = (await login(app, await createUser(app, [role]))).access_token;
      expectProblem(await call('GET', '', token), 403, 'FORBIDDEN');
      expectProblem(await call('POST', '', token, { username: name(), roles: ['admin'] }), 403);
    }
    expectProblem(await app.inject({ url: '/api/v1/users' }), 401, 'UNAUTHORIZED');
  });
});
