import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuSnapshot, cpuUsed, cpuWaited, mainThreadWaited } from './cpu.js';

const linux = existsSync('/proc/self/task') && existsSync('/usr/bin/taskset');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A process that spins on CPU 0 until killed. */
function spinner(): ChildProcess {
  const child = spawn('taskset', ['-c', '0', process.execPath, '-e', 'for (;;) {}'], {
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

describe.runIf(linux)('cpu', () => {
  it('counts the CPU of each group, and the run delay of two processes sharing one CPU', async () => {
    // taskset execs node in place, so the pid is the spinner's.
    const [a, b] = [spinner(), spinner()];
    const named = new Map([
      [a.pid ?? 0, 'first'],
      [b.pid ?? 0, 'second'],
    ]);
    const before = cpuSnapshot(named);
    // Until each has run 0.2 s of CPU: one CPU for the two, so each also waited about as long.
    let after = cpuSnapshot(named);
    while (Math.min(...['first', 'second'].map((g) => cpuUsed(before, after)[g] ?? 0)) < 0.2) {
      await new Promise((r) => setImmediate(r));
      after = cpuSnapshot(named);
    }
    const waited = cpuWaited(before, after);
    for (const group of ['first', 'second']) expect(waited[group]).toBeGreaterThan(0.1);
    // A single-threaded spinner's wait is its main thread's.
    expect(mainThreadWaited(before, after, a.pid ?? 0)).toBeGreaterThan(0.1);
    expect(mainThreadWaited(before, after, -1)).toBe(0);
  });
});
