import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { projectRoot } from '../../tools/shared/paths.js';
import { TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { TEST_SECRET } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { buildStages, parseDockerfile, type Stage } from '../helpers/dockerfile.js';
import { startHub } from '../helpers/hub.js';
import { freePort } from '../helpers/process.js';

/** The image's Node.js when .ci/run fetched it, else this one. */
const node = process.env.IMAGE_NODE || process.execPath;
/** The lock file's packages: npm marks those only the devDependencies need with `dev`. */
const locked = Object.entries(
  (
    JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean }>;
    }
  ).packages,
).filter(([path]) => path.startsWith('node_modules/'));

/** Runs `args` (as the image would: `node …`) in the runtime folder, collecting its output. */
function run(dir: string, args: string[], env: Record<string, string>) {
  const [command, ...rest] = args;
  expect(command).toBe('node');
  const child: ChildProcess = spawn(node, rest, {
    cwd: dir,
    env: { PATH: `${dirname(node)}:${process.env.PATH ?? ''}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => output };
}

withBroker('the image, its Dockerfile run as a script', () => {
  let runtime: Stage;
  let stagesRoot: string;
  const started: ChildProcess[] = [];

  beforeAll(() => {
    const stages = buildStages(
      parseDockerfile(readFileSync(join(projectRoot, 'Dockerfile'), 'utf8')),
      {
        nodeBin: node,
      },
    );
    runtime = stages.get('runtime') as Stage;
    stagesRoot = dirname(runtime.dir);
  }, 300_000);
  afterAll(() => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    if (stagesRoot) rmSync(stagesRoot, { recursive: true, force: true });
  });

  it('runs as an unprivileged user under tini, which the OS packages provide', () => {
    expect(runtime.meta.USER).toBe('node');
    expect(runtime.meta.ENTRYPOINT).toEqual(['/usr/bin/tini', '--']);
    expect(runtime.skipped.join('\n')).toMatch(/apt-get install .*\btini\b/);
    // no package manager in the runtime: nothing there runs npm, npx or corepack
    for (const tool of ['npm', 'npx', 'corepack']) {
      expect(runtime.skipped.join('\n')).toMatch(
        new RegExp(`rm -rf [^&]*/usr/local/bin/${tool}\\b`),
      );
    }
    expect(runtime.skipped.join('\n')).toMatch(/rm -rf \/usr\/local\/lib\/node_modules\/npm /);
    expect(readdirSync(runtime.dir).sort()).toEqual([
      'dist',
      'migrations',
      'node_modules',
      'package.json',
    ]);
  });

  it('ships the production dependencies only, with patches/ applied', () => {
    const shipped = (path: string) => existsSync(join(runtime.dir, path));
    const tools = locked.filter(([, p]) => p.dev).map(([path]) => path);
    expect(tools).toContain('node_modules/patch-package');
    expect(tools.filter(shipped), 'only devDependencies need these').toEqual([]);
    // every production dependency but the embedded database (production runs on Postgres)
    const embedded = (path: string) => path.startsWith('node_modules/@electric-sql/');
    const needed = locked.filter(([, p]) => !p.dev && !p.optional).map(([path]) => path);
    expect(needed.filter((path) => !shipped(path) && !embedded(path))).toEqual([]);
    expect(needed.some(embedded), 'the quick start runs on PGlite').toBe(true);
    expect(needed.filter(embedded).filter(shipped), 'PGlite stays out of the image').toEqual([]);
    const patches = readdirSync(join(projectRoot, 'patches')).filter((f) => f.endsWith('.patch'));
    expect(patches.length).toBeGreaterThan(0);
    for (const patch of patches) {
      const text = readFileSync(join(projectRoot, 'patches', patch), 'utf8');
      const file = /^\+\+\+ b\/(node_modules\/\S+)$/m.exec(text)?.[1] as string;
      const added = text
        .split('\n')
        .filter((l) => l.startsWith('+') && !l.startsWith('+++') && l.trim().length > 12)
        .map((l) => l.slice(1));
      expect(added.length, patch).toBeGreaterThan(0);
      const patched = readFileSync(join(runtime.dir, file), 'utf8');
      for (const line of added) expect(patched, `${patch}: ${line}`).toContain(line);
    }
  });

  it('migrates, starts the API and the worker on production settings, and its HEALTHCHECK passes', async () => {
    const db = await freshDatabase();
    const hub = await startHub();
    const broker = await TestBroker.open();
    const exchange = testExchange();
    broker.track(exchange);
    try {
      const [port, workerPort] = [await freePort(), await freePort()];
      const env = {
        ...runtime.env,
        HOST: '127.0.0.1',
        DATABASE_URL: db.url,
        REDIS_URL: inject('redisUrl') as string,
        REDIS_KEY_PREFIX: `ca:test:${inject('runId')}:image:`,
        AMQP_URL: inject('amqpUrl') as string,
        AMQP_EXCHANGE: exchange,
        GOVCARPETA_URL: hub.url,
        JWT_SECRET: TEST_SECRET,
        SECURITY_LOG_KEY: `${TEST_SECRET}-log`,
      };
      const refused = run(runtime.dir, runtime.meta.CMD as string[], { ...runtime.env });
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toMatch(/Invalid configuration:[\s\S]*DATABASE_URL: required/);

      const migrate = run(runtime.dir, ['node', 'dist/src/cli/migrate.js'], env);
      expect(await migrate.exited, migrate.output()).toBe(0);

      const api = run(runtime.dir, runtime.meta.CMD as string[], { ...env, PORT: String(port) });
      const worker = run(runtime.dir, ['node', '--enable-source-maps', 'dist/src/worker.js'], {
        ...env,
        PORT: String(workerPort),
      });
      started.push(api.child, worker.child);
      const health = runtime.meta.HEALTHCHECK as string[];
      for (const [name, p, proc] of [
        ['api', port, api],
        ['worker', workerPort, worker],
      ] as const) {
        const deadline = Date.now() + 30_000;
        for (;;) {
          const ready = await fetch(`http://127.0.0.1:${p}/health/ready`).catch(() => undefined);
          if (ready?.status === 200) break;
          if (Date.now() > deadline) throw new Error(`${name} never ready:\n${proc.output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const check = run(runtime.dir, health, { PORT: String(p) });
        expect(await check.exited, `${name} HEALTHCHECK`).toBe(0);
      }
      api.child.kill('SIGTERM');
      worker.child.kill('SIGTERM');
      expect(await api.exited, api.output()).toBe(0);
      expect(await worker.exited, worker.output()).toBe(0);
    } finally {
      await broker.close();
      await hub.close();
      await db.drop();
    }
  });
});
