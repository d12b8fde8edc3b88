import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { runScript, startServer } from '../helpers/process.js';
import { eventually } from '../helpers/wait.js';

// Each test starts processes (tsx, the embedded database) that take 10-25 s on two cores beside
// the other files: the timeout is a net for a hang, not a speed rule.
vi.setConfig({ testTimeout: 90_000 });

/** The quick start, for real: `npm start` with no configuration (server process, PGlite). */
describe('embedded mode, end to end', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ca-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  // debug: the server logs each request as it arrives (the in-flight request below waits for it).
  const start = () => startServer({ DATA_DIR: dataDir, LOG_LEVEL: 'debug' }, onTestFinished);

  const post = (url: string, body?: unknown, token?: string) =>
    fetch(url, {
      method: 'POST',
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('prints the admin password once; login, me, logout, then TOKEN_REVOKED; SIGTERM exits cleanly', async () => {
    const { server, base } = await start();
    const [, password] = await server.waitFor(/password: (\S+)/);
    expect(server.output()).toContain('username: admin');

    const login = await post(`${base}/api/v1/auth/login`, { username: 'admin', password });
    expect(login.status).toBe(200);
    const { access_token } = (await login.json()) as { access_token: string };
    const me = await fetch(`${base}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(await me.json()).toMatchObject({ username: 'admin', roles: ['admin'] });

    // The built-in simulator answers checks and authentications; events wait in the outbox.
    const check = await post(
      `${base}/api/v1/affiliation/check`,
      { citizen_id: '1234567890' },
      access_token,
    );
    expect(check.status).toBe(200);
    expect(await check.json()).toMatchObject({ status: 'ELIGIBLE', source: 'hub' });
    const doc = await post(
      `${base}/api/v1/documents/authenticate`,
      {
        citizen_id: '1234567891',
        document_url: 'https://docs.example.org/a.pdf',
        document_title: 'Diploma',
      },
      access_token,
    );
    expect(await doc.json()).toMatchObject({ verification_status: 'VERIFIED' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/outbox_pending_events 2/);
    expect(server.output()).toMatch(/built-in hub simulator/);

    expect((await post(`${base}/api/v1/auth/logout`, undefined, access_token)).status).toBe(204);
    const after = await fetch(`${base}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('TOKEN_REVOKED');
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);

    // A request in flight when SIGTERM arrives is still answered (scrypt makes login slow enough).
    const arrived = () => server.output().split('"url":"/api/v1/auth/login"').length;
    const before = arrived();
    const inFlight = post(`${base}/api/v1/auth/login`, { username: 'admin', password });
    await eventually(() => arrived() > before); // the server has it
    const stoppedAt = Date.now();
    server.child.kill('SIGTERM');
    expect((await inFlight).status).toBe(200);
    const exit = await server.exited;
    expect(exit, server.output().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
    expect(server.output()).not.toContain(access_token);
  });

  it('keeps its data across restarts and does not print a password again', async () => {
    const { server, base } = await start();
    try {
      expect(server.output()).not.toMatch(/password:/);
      const res = await post(`${base}/api/v1/auth/login`, {
        username: 'admin',
        password: 'not-it',
      });
      expect(res.status).toBe(401);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('refuses to start in production on embedded defaults, naming what is missing', async () => {
    const run = runScript('src/server.ts', [], { NODE_ENV: 'production', DATA_DIR: dataDir });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/JWT_SECRET: required in production/);
    expect(run.output()).toMatch(/DATABASE_URL: required in production/);
    expect(run.output()).toMatch(/REDIS_URL: required in production/);
    expect(run.output()).toMatch(/GOVCARPETA_URL: required in production/);
    expect(run.output()).toMatch(/AMQP_URL: required in production/);
  });
});
