import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../tools/shared/net.js';
import { projectRoot } from '../../tools/shared/paths.js';

export { freePort };

export interface Running {
  child: ChildProcess;
  output: () => string;
  waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point of this repo as its own process (through tsx). */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  else child.stdin?.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const match = out.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${pattern}; output:\n${out}`);
    },
  };
}

/**
 * `npm start` as a process (src/server.ts through tsx) on a free loopback port, returned once it
 * reports ready. Killed when the test ends, whatever happens.
 */
export async function startServer(
  env: Record<string, string>,
  onFinished: (cleanup: () => void) => void,
): Promise<{ server: Running; base: string }> {
  const port = await freePort();
  const server = runScript('src/server.ts', [], {
    PORT: String(port),
    HOST: '127.0.0.1',
    SHUTDOWN_GRACE_MS: '5000',
    ...env,
  });
  onFinished(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await server.waitFor(/Server listening/);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while ((await fetch(`${base}/health/ready`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`never ready:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { server, base };
}

/** Runs a command to its end: its exit code and everything it printed. */
export async function runToEnd(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<{ code: number | null; output: string }> {
  const run = runScript(script, args, env, stdin);
  const { code } = await run.exited;
  return { code, output: run.output() };
}
