import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { runToEnd, startServer } from '../helpers/process.js';

/**
 * The README's user commands on embedded defaults, with and without the service running. One
 * process at a time may open the embedded database: a second one loses the first one's writes
 * (a user "created" while the server ran was gone after a restart).
 */
describe('users on the embedded database', () => {
  let dataDir: string;
  const fresh = () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ca-users-'));
    return dataDir;
  };
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const login = async (base: string, username: string, password: string) =>
    fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  const passwordOf = (output: string) =>
    output.match(/password \(shown once\): (\S+)/)?.[1] as string;

  it('while the service runs, user:create goes through it: the login works at once and after a restart', async () => {
    const env = { DATA_DIR: fresh() };
    const { server, base } = await startServer(env, onTestFinished);
    const created = await runToEnd(
      'src/cli/user-create.ts',
      ['--username', 'ana', '--role', 'operator'],
      env,
    );
    expect(created.output).toMatch(
      /created user ana \(operator\) .* in the running service \(pid \d+\)/,
    );
    expect(created.code).toBe(0);
    const password = passwordOf(created.output);
    expect((await login(base, 'ana', password)).status).toBe(200);
    // The credential the CLI used is readable by its owner only.
    expect(statSync(join(dataDir, 'local-admin.json')).mode & 0o077).toBe(0);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const again = await startServer(env, onTestFinished);
    expect((await login(again.base, 'ana', password)).status).toBe(200);

    // Disabling through the service refuses the tokens it holds at once (its in-memory denylist).
    const pair = (await (await login(again.base, 'ana', password)).json()) as {
      access_token: string;
    };
    const disabled = await runToEnd('src/cli/user-disable.ts', ['--username', 'ana'], env);
    expect(disabled).toMatchObject({
      code: 0,
      output: expect.stringMatching(/refused from now on/),
    });
    const me = await fetch(`${again.base}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    expect(((await me.json()) as { code: string }).code).toBe('TOKEN_REVOKED');
    const none = await runToEnd('src/cli/user-disable.ts', ['--username', 'nobody'], env);
    expect(none).toMatchObject({ code: 1, output: expect.stringMatching(/No user "nobody"/) });
    again.server.child.kill('SIGTERM');
    await again.server.exited;
  }, 120_000); // two server starts and three commands, each a process of its own

  it('user:create before the first start migrates the folder, and the server then knows the user', async () => {
    const env = { DATA_DIR: fresh() };
    const created = await runToEnd(
      'src/cli/user-create.ts',
      ['--username', 'early', '--role', 'auditor'],
      env,
    );
    expect(created.output).toMatch(/created user early \(auditor\) .* in the embedded database/);
    const { server, base } = await startServer(env, onTestFinished);
    expect((await login(base, 'early', passwordOf(created.output))).status).toBe(200);
    // A user exists, so no bootstrap admin was made.
    expect(server.output()).not.toMatch(/First start/);
    server.child.kill('SIGTERM');
    await server.exited;
  }, 60_000);

  it('a second process on the folder is refused, naming the process that has it open', async () => {
    const env = { DATA_DIR: fresh() };
    const { server } = await startServer(env, onTestFinished);
    const migrate = await runToEnd('src/cli/migrate.ts', [], env);
    expect(migrate.code).toBe(1);
    expect(migrate.output).toContain(`is open in process ${server.child.pid}`);
    expect(migrate.output).toMatch(/\(node src\/server\.ts\)/);
    expect(migrate.output).toMatch(/stop that one first/);
    const second = await runToEnd('src/server.ts', [], { ...env, PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.output).toContain(`is open in process ${server.child.pid}`);
    expect(second.output).not.toMatch(/at .*\.ts:\d+/); // a message, not a stack
    server.child.kill('SIGTERM');
    await server.exited;
  }, 60_000);

  it('takes over the lock of a process that died without releasing it', async () => {
    const env = { DATA_DIR: fresh() };
    const dead = await runToEnd('src/cli/migrate.ts', [], env); // a pid that is gone now
    expect(dead.code).toBe(0);
    writeFileSync(
      join(dataDir, 'pglite.lock'),
      JSON.stringify({ pid: 999_999_999, host: hostname(), command: 'node x', since: 'then' }),
    );
    const migrate = await runToEnd('src/cli/migrate.ts', [], env);
    expect(migrate).toMatchObject({ code: 0, output: expect.stringMatching(/migrations applied/) });
  }, 60_000);
});
