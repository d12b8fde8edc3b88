import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildTestApp, login, withServices } from '../helpers/app.js';
import { runScript } from '../helpers/process.js';

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
});
