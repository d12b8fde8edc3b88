import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { startHub } from '../helpers/hub.js';
import { runToEnd, startServer } from '../helpers/process.js';

describe('npm run operator:register', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ca-operator-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('on embedded defaults, through the running service (its simulator is the hub): once, then nothing', async () => {
    const env = { DATA_DIR: dataDir };
    const { server, base } = await startServer(env, onTestFinished);
    const port = new URL(base).port;
    const check = await runToEnd('src/cli/operator-register.ts', ['--check'], env);
    expect(check.code, check.output).toBe(0);
    expect(check.output).toMatch(
      /operator "Operador Local" \(66ca18cd66ca9f0015a8afb5\): in the hub directory/,
    );
    expect(check.output).toContain(
      `transfer endpoint: none (expected http://localhost:${port}/api/transferCitizen)`,
    );
    expect(check.output).toMatch(/through the running service \(pid \d+\)/);

    const first = await runToEnd('src/cli/operator-register.ts', [], env);
    expect(first.output).toContain(`http://localhost:${port}/api/transferCitizen (registered now)`);
    const second = await runToEnd('src/cli/operator-register.ts', [], env);
    expect(second.output).toMatch(/nothing to change/);
    server.child.kill('SIGTERM');
    await server.exited;

    const alone = await runToEnd('src/cli/operator-register.ts', ['--check'], env);
    expect(alone).toMatchObject({
      code: 1,
      output: expect.stringMatching(/start it \(npm start\)/),
    });
  }, 90_000);

  it.skipIf(!inject('databaseUrl'))(
    'against a hub: registers a new operator and prints the id to set',
    async () => {
      const hub = await startHub();
      try {
        const name = `Operador E2E ${Date.now()}`;
        const env = {
          DATABASE_URL: inject('databaseUrl') as string,
          GOVCARPETA_URL: hub.url,
          OPERATOR_NAME: name,
          PUBLIC_BASE_URL: 'https://e2e.example.org',
        };
        const usage = await runToEnd('src/cli/operator-register.ts', ['--address', 'Calle 1'], env);
        expect(usage.code).toBe(2);
        const run = await runToEnd(
          'src/cli/operator-register.ts',
          ['--address', 'Calle 1', '--contact-mail', 'ops@e2e.example.org', '--participant', 'Eva'],
          env,
        );
        expect(run.code, run.output).toBe(0);
        const id = run.output.match(/set OPERATOR_ID=(\S+) for this service/)?.[1] as string;
        expect(run.output).toContain(`operator "${name}" (${id}): registered now`);
        expect(run.output).toContain(
          'https://e2e.example.org/api/transferCitizen (registered now)',
        );
        const check = await runToEnd('src/cli/operator-register.ts', ['--check'], {
          ...env,
          OPERATOR_ID: id,
        });
        expect(check.output).toContain(`operator "${name}" (${id}): in the hub directory`);
        const again = await runToEnd('src/cli/operator-register.ts', [], env); // no id: refused
        expect(again).toMatchObject({
          code: 1,
          output: expect.stringMatching(/set OPERATOR_ID to it/),
        });
        expect(hub.calls.registerOperator).toBe(1);
      } finally {
        await hub.close();
      }
    },
    90_000,
  );
});
