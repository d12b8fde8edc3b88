import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU goes during a scenario (Linux /proc): CPU time by group of processes,
 * so a ratio to the floor can be explained (the service's own thread, or Postgres, RabbitMQ…).
 */

/** CPU seconds consumed so far by each process, with the process's group. */
export type CpuSnapshot = Map<number, { group: string; seconds: number }>;

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
    out.set(pid, { group: groupOf(pid, comm, named), seconds: ticks / TICKS_PER_SECOND });
  }
  return out;
}

/**
 * CPU seconds used between two snapshots, by group. A process that exited in between is not
 * counted (its last seconds are lost); one that started is counted whole.
 */
export function cpuUsed(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const used: Record<string, number> = {};
  for (const [pid, now] of after) {
    const delta = now.seconds - (before.get(pid)?.seconds ?? 0);
    if (delta > 0) used[now.group] = (used[now.group] ?? 0) + delta;
  }
  return used;
}
