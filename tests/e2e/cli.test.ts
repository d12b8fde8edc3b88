import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { runScript, runToEnd } from '../helpers/process.js';
import { eventually } from '../helpers/wait.js';

// Each test starts processes (tsx, the embedded database) that take 10-25 s on two cores beside
// the other files: the timeout is a net for a hang, not a speed rule.
vi.setConfig({ testTimeout: 90_000 });

const databaseUrl = inject('databaseUrl') as string;

withServices('npm run user:create', () => {
  const create = (args: string[], stdin?: string) => {
    const run = runScript('src/cli/user-create.ts', args, { DATABASE_URL: databaseUrl }, stdin);
    return run.exited.then(({ code }) => ({ code, output: run.output() }));
  };
  const name = () => `svc-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  it('creates a service account with a generated password, printed once, that can log in', async () => {
    const username = name();
    const { code, output } = await create(['--username', username, '--role', 'service']);
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`created user ${username} \\(service\\)`));
    const password = output.match(/password \(shown once\): (\S+)/)?.[1] as string;
    const app = await buildTestApp();
    try {
      const pair = await login(app, { username, password });
      expect(pair.token_type).toBe('Bearer');
    } finally {
      await app.close();
    }
    const again = await create(['--username', username, '--role', 'auditor']);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already exists/);
  });

  it('takes the password from stdin, never printing it', async () => {
    const username = name();
    const secret = 'a-password-from-a-vault-123';
    const { code, output } = await create(
      ['--username', username, '--role', 'operator', '--role', 'auditor', '--password-stdin'],
      `${secret}\n`,
    );
    expect(code).toBe(0);
    expect(output).not.toContain(secret);
    const app = await buildTestApp();
    try {
      await login(app, { username, password: secret });
    } finally {
      await app.close();
    }
  });

  it('refuses bad input with usage and exit code 2', async () => {
    expect((await create(['--username', name(), '--role', 'root'])).output).toMatch(
      /unknown role\(s\): root/,
    );
    expect((await create(['--username', name()])).code).toBe(2);
    expect((await create(['--username', 'x y', '--role', 'admin'])).code).toBe(2);
    const short = await create(
      ['--username', name(), '--role', 'admin', '--password-stdin'],
      'short\n',
    );
    expect(short).toMatchObject({ code: 2, output: expect.stringMatching(/at least 12/) });
  });
});

withServices('npm run user:disable', () => {
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: inject('redisUrl') as string,
    REDIS_KEY_PREFIX: `ca:test:${inject('runId')}:`,
  };
  const run = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const cli = runScript('src/cli/user-disable.ts', args, { ...env, ...extraEnv });
    return { code: (await cli.exited).code, output: cli.output() };
  };

  it('stops a user at once: its access and refresh tokens and its password stop working', async () => {
    const app = await buildTestApp();
    try {
      const user = await createUser(app, ['operator']);
      const pair = await login(app, user);
      const me = (token: string) => app.inject({ url: '/api/v1/auth/me', headers: bearer(token) });
      expect((await me(pair.access_token)).statusCode).toBe(200);

      const disabled = await run(['--username', user.username]);
      expect(disabled).toMatchObject({
        code: 0,
        output: expect.stringMatching(/refused from now on/),
      });
      expect((await me(pair.access_token)).json()).toMatchObject({ code: 'TOKEN_REVOKED' });
      const refresh = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        payload: { refresh_token: pair.refresh_token },
      });
      expect(refresh.statusCode).toBe(401);
      await expect(login(app, user)).rejects.toThrow(/401/);

      // --enable: new logins work; the token from before the disable stays refused. A token's
      // iat has one-second resolution: the new login must come in a later second than the mark.
      const markedAt = Math.floor(Date.now() / 1000);
      await eventually(() => Math.floor(Date.now() / 1000) > markedAt, 3000);
      expect((await run(['--username', user.username, '--enable'])).code).toBe(0);
      const again = await login(app, user);
      expect((await me(again.access_token)).statusCode).toBe(200);
      expect((await me(pair.access_token)).statusCode).toBe(401);

      const deleted = await run(['--username', user.username, '--delete']);
      expect(deleted).toMatchObject({ code: 0, output: expect.stringMatching(/deleted user/) });
      expect((await me(again.access_token)).json()).toMatchObject({ code: 'TOKEN_REVOKED' });
      await expect(login(app, user)).rejects.toThrow(/401/);
      expect(await run(['--username', user.username])).toMatchObject({
        code: 1,
        output: expect.stringMatching(/no user/i),
      });
    } finally {
      await app.close();
    }
  });

  it('changes nothing when Redis is configured but unreachable, and refuses bad usage', async () => {
    const app = await buildTestApp();
    try {
      const user = await createUser(app, ['service']);
      const down = await run(['--username', user.username], { REDIS_URL: 'redis://127.0.0.1:1' });
      expect(down).toMatchObject({
        code: 1,
        output: expect.stringMatching(/Redis is not reachable/),
      });
      await login(app, user); // still enabled
      expect((await run([])).code).toBe(2);
      expect(await run(['--usernme', user.username])).toMatchObject({
        code: 2,
        output: expect.stringMatching(/Unknown option '--usernme'[\s\S]*usage:/),
      });
      expect((await run(['--username', user.username, '--delete', '--enable'])).code).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe('npm run migrate', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ca-migrate-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('applies the migrations to the embedded database, and again is a no-op', async () => {
    for (let i = 0; i < 2; i++) {
      const run = runScript('src/cli/migrate.ts', [], { DATA_DIR: dataDir });
      expect((await run.exited).code).toBe(0);
      expect(run.output()).toContain('migrations applied (pglite)');
    }
  });

  it('says clearly when the database URL is wrong', async () => {
    const run = runScript('src/cli/migrate.ts', [], { DATABASE_URL: 'mysql://nope' });
    expect((await run.exited).code).toBe(1);
    expect(run.output()).toMatch(/DATABASE_URL: must be a postgres or postgresql URL/);
  });

  it('refuses the embedded database in production, like every command and the server', async () => {
    const env = { NODE_ENV: 'production', DATA_DIR: dataDir };
    for (const [script, args] of [
      ['src/cli/migrate.ts', []],
      ['src/cli/retention.ts', []],
      ['src/cli/user-create.ts', ['--username', 'prod-user', '--role', 'admin']],
      ['src/cli/user-disable.ts', ['--username', 'prod-user']],
    ] as const) {
      const run = await runToEnd(script, [...args], env);
      expect(run, script).toMatchObject({
        code: 1,
        output: expect.stringMatching(/DATABASE_URL: required in production/),
      });
    }
  });
});

describe.skipIf(!databaseUrl)('a command that fails', () => {
  it('prints a failed query with its SQL and its cause, never its parameters', async () => {
    // A database nobody migrated: the insert fails for want of a table.
    const name = `ca_test_${inject('runId')}_${randomUUID().slice(0, 8)}`;
    const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    try {
      const url = new URL(databaseUrl);
      url.pathname = `/${name}`;
      const password = 'a-secret-password-of-some-length';
      const run = await runToEnd(
        'src/cli/user-create.ts',
        ['--username', 'nobody-yet', '--role', 'admin', '--password-stdin'],
        { DATABASE_URL: url.toString() },
        `${password}\n`,
      );
      expect(run.code).toBe(1);
      expect(run.output).toMatch(/Failed query: insert into "users"/);
      expect(run.output).toMatch(/relation "users" does not exist/);
      expect(run.output).toMatch(/run `npm run migrate` first/);
      for (const secret of [password, 'scrypt$', 'nobody-yet'])
        expect(run.output).not.toContain(secret);
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });
});

describe.skipIf(!databaseUrl)('user commands in the security log', () => {
  it('records a user created and disabled from the command line, by `cli`, in an intact chain', async () => {
    const fresh = await freshDatabase();
    const key = 'cli-security-log-key-0123456789abcdef0123';
    const env = { DATABASE_URL: fresh.url, SECURITY_LOG_KEY: key };
    try {
      const created = runScript(
        'src/cli/user-create.ts',
        ['--username', 'cli-made', '--role', 'auditor'],
        env,
      );
      expect((await created.exited).code, created.output()).toBe(0);
      const disabled = runScript('src/cli/user-disable.ts', ['--username', 'cli-made'], env);
      expect((await disabled.exited).code, disabled.output()).toBe(0);
      const sql = postgres(fresh.url, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select kind, source, detail from security_events order by seq`;
        expect(rows.map((r) => [r.kind, r.source, r.detail.by])).toEqual([
          ['user_created', 'cli', 'cli'],
          ['user_disabled', 'cli', 'cli'],
        ]);
      } finally {
        await sql.end();
      }
      const verify = runScript('src/cli/audit-verify.ts', [], env);
      expect((await verify.exited).code, verify.output()).toBe(0);
      expect(verify.output()).toContain('intact: 2 events');
    } finally {
      await fresh.drop();
    }
  });
});

describe.skipIf(!databaseUrl)('npm run retention', () => {
  it('deletes, once, what has done its job, says how much per table, and keeps the rest', async () => {
    const fresh = await freshDatabase();
    const database = await createDatabase({ databaseUrl: fresh.url, dataDir: 'unused' });
    try {
      const at = (hours: number) => new Date(Date.now() - hours * 3_600_000);
      const event = (sentHoursAgo: number | null) => ({
        id: randomUUID(),
        routingKey: 'affiliation.checked',
        payload: {},
        createdAt: at(100),
        sentAt: sentHoursAgo === null ? null : at(sentHoursAgo),
      });
      await database.db.insert(outbox).values([event(50), event(50), event(10), event(null)]);
      const run = runScript('src/cli/retention.ts', [], {
        DATABASE_URL: fresh.url,
        RETENTION_HOURS: '24',
      });
      expect((await run.exited).code).toBe(0);
      expect(run.output()).toMatch(/^outbox: 2 deleted$/m);
      expect(run.output()).toMatch(/^inbox: 0 deleted$/m);
      const left = await database.db.select({ sentAt: outbox.sentAt }).from(outbox);
      expect(left).toHaveLength(2); // the recent one and the unsent one

      const bad = runScript('src/cli/retention.ts', [], {
        DATABASE_URL: fresh.url,
        RETENTION_HOURS: '0',
      });
      expect((await bad.exited).code).toBe(1);
      expect(bad.output()).toMatch(/RETENTION_HOURS/);
    } finally {
      await database.close();
      await fresh.drop();
    }
  });
});
