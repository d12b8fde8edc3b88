import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU goes during a scenario (Linux /proc): CPU time by group of processes,
 * so a ratio to the floor can be explained (the service's own thread, or Postgres, RabbitMQ…),
 * and the time each group was ready to run but waited for a CPU (the scheduler's run delay,
 * /proc/PID/task/TID/schedstat): how much the processes sharing the machine held each other up.
 */

/** What one process has consumed and waited so far, with the process's group. */
interface ProcessFigures {
  group: string;
  /** CPU seconds, every thread. */
  seconds: number;
  /** Seconds runnable but waiting for a CPU, every thread. */
  waitSeconds: number;
  /** The same for the main thread alone (a Node.js process's event loop). */
  mainWaitSeconds: number;
}

export type CpuSnapshot = Map<number, ProcessFigures>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Groups by process name; `named` maps our own children's pids to their names. */
function groupOf(pid: number, comm: string, named: Map<number, string>): string {
  const own = named.get(pid);
  if (own) return own;
  if (comm === 'postgres') return 'postgres';
  if (comm.startsWith('redis')) return 'redis';
  if (comm === 'beam.smp' || comm.startsWith('erl') || comm === 'epmd' || comm === 'inet_gethost')
    return 'rabbitmq';
  return 'other';
}

export function cpuSnapshot(named: Map<number, string>): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out; // not Linux: no breakdown
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after "state".
    const ticks = Number(fields[11]) + Number(fields[12]);
    const { all, main } = runDelays(pid);
    out.set(pid, {
      group: groupOf(pid, comm, named),
      seconds: ticks / TICKS_PER_SECOND,
      waitSeconds: all,
      mainWaitSeconds: main,
    });
  }
  return out;
}

/** Run delay (s) of every thread of `pid` and of its main thread; 0 where schedstat is absent. */
function runDelays(pid: number): { all: number; main: number } {
  let all = 0;
  let main = 0;
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return { all, main };
  }
  for (const tid of tasks) {
    try {
      // "cpu time (ns) run delay (ns) timeslices"
      const delay = Number(
        readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1],
      );
      if (!Number.isFinite(delay)) continue;
      all += delay / 1e9;
      if (tid === String(pid)) main = delay / 1e9;
    } catch {
      // the thread ended meanwhile, or the kernel keeps no schedstat
    }
  }
  return { all, main };
}

/** Seconds each group waited for a CPU between two snapshots, counted as `cpuUsed` counts. */
export function cpuWaited(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  return byGroup(before, after, (p) => p.waitSeconds);
}

/** Seconds the main thread of `pid` waited for a CPU between two snapshots. */
export function mainThreadWaited(before: CpuSnapshot, after: CpuSnapshot, pid: number): number {
  const [then, now] = [before.get(pid), after.get(pid)];
  return then && now ? Math.max(0, now.mainWaitSeconds - then.mainWaitSeconds) : 0;
}

/**
 * CPU seconds used between two snapshots, by group. A process that exited in between is not
 * counted (its last seconds are lost); one that started is counted whole.
 */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  return byGroup(before, after, (p) => p.seconds);
}

/** How much of `figure` each group added between two snapshots (a process started: whole). */
function byGroup(
  before: CpuSnapshot,
  after: CpuSnapshot,
  figure: (p: ProcessFigures) => number,
): Record<string, number> {
  const added: Record<string, number> = {};
  for (const [pid, now] of after) {
    const then = before.get(pid);
    const delta = figure(now) - (then ? figure(then) : 0);
    if (delta > 0) added[now.group] = (added[now.group] ?? 0) + delta;
  }
  return added;
}
