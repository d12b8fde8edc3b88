import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';

export { freePort } from '../shared/net.js';

/** A child process of the benchmark, with its output kept for when something goes wrong. */
export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * The Node.js that runs the processes under test: `BENCH_NODE` (e.g. the major the image ships),
 * else the one running the bench. The load generator always runs on the bench's own Node.
 */
export const benchNode = process.env.BENCH_NODE || process.execPath;

export function nodeVersion(): string {
  return execFileSync(benchNode, ['--version'], { encoding: 'utf8' }).trim();
}

/** The machine and the Node.js versions a result was measured with. */
export function describeMachine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${nodeVersion()} (load generator on ${process.version})`;
}

/** Where the harnesses write their results (ignored by git). */
export const RESULTS_DIR = join(projectRoot, 'tools/bench/results');

/** Writes `files` (extension → content) as tools/bench/results/<prefix><time>.<extension>. */
export function writeResults(prefix: string, files: Record<string, string>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const [extension, content] of Object.entries(files)) {
    writeFileSync(join(RESULTS_DIR, `${prefix}${stamp}.${extension}`), content);
  }
  process.stderr.write(
    `written to tools/bench/results/${prefix}${stamp}.{${Object.keys(files).join(',')}}\n`,
  );
}

export function start(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(benchNode, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    name,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `url` answers 200, or fails with the process's output. */
export async function waitReady(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) break;
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${proc.name} not ready at ${url}:\n${proc.output()}`);
}

/**
 * The runtime settings the image runs with: its Dockerfile's `ENV NODE_OPTIONS="…"` and any
 * `ENV MALLOC_…="…"` (glibc's allocator), so what the bench measures is what ships.
 */
export function imageEnv(): Record<string, string> {
  const dockerfile = readFileSync(join(projectRoot, 'Dockerfile'), 'utf8');
  const env = Object.fromEntries(
    [...dockerfile.matchAll(/^ENV ((?:NODE_OPTIONS|MALLOC_\w+))="([^"]*)"$/gm)].map((m) => [
      m[1] as string,
      m[2] as string,
    ]),
  );
  if (env.NODE_OPTIONS === undefined) throw new Error('the Dockerfile sets no NODE_OPTIONS');
  return env;
}

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}
