import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';

/** One measured scenario. */
export interface Row {
  name: string;
  target: 'service' | 'baseline';
  connections: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  /** Largest RSS of the process under test during the run, MiB. */
  rssMiB: number;
  /**
   * Events still in the outbox when the scenario ended: work the relay had not caught up with,
   * so not paid for in this scenario's numbers (0 for the baselines).
   */
  eventsPending: number;
  /** CPU time per answered request by group of processes (cpu.ts), µs. */
  cpuMicrosPerRequest: Record<string, number>;
  /** Time ready to run but waiting for a CPU, per answered request, by group (cpu.ts), µs. */
  cpuWaitMicrosPerRequest?: Record<string, number>;
  /** The share of the scenario the main thread of the process under test waited for a CPU. */
  mainThreadWaitShare?: number;
  /** Measured with tracing on: reported with its cost, not judged by the budget. */
  tracing?: boolean;
  /** Open model only: the requests started per second, whatever the answers did. */
  arrivalRate?: number;
  /** Open model only: requests due while every slot was busy (k6's dropped iterations). */
  dropped?: number;
}

export interface Budget {
  rule: string;
  measured: string;
  /** Undefined: reported, not judged by this run (the soak has a run of its own). */
  pass: boolean | undefined;
}

const FLOOR = 'floor (baseline)';
/** The floor measured again after the service's 100-connection scenarios. */
export const FLOOR_AGAIN = 'floor, again (baseline)';
/** Constant arrivals of unique-id checks at 70 % of the closed model's rate in the same run. */
export const OPEN_MODEL = 'check, unique ids, open model at 70 % of max';
/** The floor plus one confirmed persistent message per request: a reference, not the budget's. */
export const FLOOR_EVENT = 'floor + confirmed event (baseline)';
/**
 * Issue 20: the service's peak RSS must stay within two thirds of the API pod's memory limit in
 * k8s/base (384Mi → 256 MiB). The limit is read from there, so the rule follows the pod.
 */
export function rssBudgetMiB(
  deployment = readFileSync(join(projectRoot, 'k8s/base/api-deployment.yaml'), 'utf8'),
): number {
  const limit = /limits:\s*\{\s*memory:\s*(\d+)Mi\s*\}/.exec(deployment)?.[1];
  if (!limit) throw new Error('no memory limit in Mi in k8s/base/api-deployment.yaml');
  return Math.floor((Number(limit) * 2) / 3);
}

/**
 * The reference rate: for the floor, the mean of its two measurements (before and after the
 * service's scenarios), so a drift of the machine during the run weighs on both sides alike.
 */
function referenceRate(rows: Row[], floorName: string): number {
  const names = floorName === FLOOR ? [FLOOR, FLOOR_AGAIN] : [floorName];
  const rates = rows.filter((r) => names.includes(r.name)).map((r) => r.reqPerSec);
  return rates.length > 0 ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
}

export function ratioToFloor(rows: Row[], row: Row, floorName = FLOOR): number {
  const floor = referenceRate(rows, floorName);
  return floor > 0 ? row.reqPerSec / floor : 0;
}

/**
 * The performance budget (issue 20's), judged on one run's rows. The soak runs on its own
 * (`npm run bench:soak`, 10 minutes): its latest verdict on this machine is shown, not re-judged.
 */
export function budget(rows: Row[], soak?: Budget): Budget[] {
  const get = (name: string) => rows.find((r) => r.name === name);
  const out: Budget[] = [];
  const ratio = (name: string, min: number) => {
    const row = get(name);
    const r = row ? ratioToFloor(rows, row) : 0;
    out.push({
      rule: `${name} ≥ ${min} × floor`,
      measured: row ? `${r.toFixed(2)} × floor` : 'not measured in this run (BENCH_ONLY)',
      pass: row !== undefined && r >= min,
    });
  };
  ratio('check, unique ids', 0.6);
  ratio('check, hot ids', 0.9);
  if (
    !rows.some((r) => r.connections >= 1000 && r.target === 'service' && r.name.includes('unique'))
  ) {
    out.push({
      rule: 'check, unique ids, 1000 connections: 0 errors, 0 timeouts, 0 non-2xx, p99 < 1500 ms',
      measured: 'not measured in this run (BENCH_ONLY)',
      pass: false,
    });
  }
  const many = rows.filter((r) => r.connections >= 1000 && r.target === 'service');
  for (const row of many) {
    const bad = row.errors + row.timeouts + row.non2xx;
    out.push({
      rule: `${row.name}: 0 errors, 0 timeouts, 0 non-2xx`,
      measured: `${row.errors} errors, ${row.timeouts} timeouts, ${row.non2xx} non-2xx`,
      pass: bad === 0,
    });
    out.push({
      rule: `${row.name}: p99 < 1500 ms`,
      measured: `p99 ${row.p99} ms`,
      pass: row.p99 < 1500,
    });
  }
  const deployed = rows.filter((r) => r.target === 'service' && !r.tracing);
  const maxRss = Math.max(0, ...deployed.map((r) => r.rssMiB));
  const rssLimit = rssBudgetMiB();
  out.push({
    rule: `service peak RSS, every scenario ≤ ${rssLimit} MiB (2/3 of the API pod's limit)`,
    measured: `${maxRss.toFixed(0)} MiB`,
    pass: maxRss <= rssLimit,
  });
  const open = get(OPEN_MODEL);
  out.push({
    rule: `${OPEN_MODEL}: p99 < 50 ms, 0 dropped iterations, 0 errors, 0 non-2xx`,
    measured: open
      ? `${open.arrivalRate} req/s offered: p99 ${open.p99} ms, ${open.dropped} dropped, ${open.errors} errors, ${open.non2xx} non-2xx`
      : 'not measured in this run (BENCH_ONLY)',
    pass:
      open !== undefined &&
      open.p99 < 50 &&
      open.dropped === 0 &&
      open.errors + open.non2xx + open.timeouts === 0,
  });
  out.push(soak ?? { rule: SOAK_RULE, measured: 'not run on this machine yet', pass: undefined });
  return out;
}

export const SOAK_RULE =
  'soak (npm run bench:soak): RSS and heap in minute 10 within 5 % of minute 2, p99 ≤ 1.2 × minute 2, no error';

export function markdown(rows: Row[], budgets: Budget[], machine: string): string {
  const lines = [
    `Machine: ${machine}`,
    '',
    '| scenario | conns | req/s | p50 ms | p99 ms | errors | timeouts | non-2xx | RSS MiB | events left | × floor | × floor + event |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.connections} | ${r.reqPerSec.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.timeouts} | ${r.non2xx} | ${r.rssMiB.toFixed(0)} | ${r.eventsPending} | ${ratioToFloor(rows, r).toFixed(2)} | ${ratioToFloor(rows, r, FLOOR_EVENT).toFixed(2)} |`,
    ),
    ...floorDrift(rows),
    ...tracingCost(rows),
    '',
    ...cpuTable(rows),
    ...waitTable(rows),
    '',
    '| budget | measured | |',
    '|---|---|---|',
    ...budgets.map(
      (b) =>
        `| ${b.rule} | ${b.measured} | ${b.pass === undefined ? 'not judged here' : b.pass ? 'pass' : '**FAIL**'} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Columns of the CPU table after the process under test (the service or the baselines), in this
 * order; groups not listed here are summed into "other".
 */
const CPU_GROUPS = ['simulator', 'postgres', 'redis', 'rabbitmq', 'load generator'];

/** CPU µs per request by process group: where each scenario's machine time went. */
function cpuTable(rows: Row[]): string[] {
  return groupTable(rows, (r) => r.cpuMicrosPerRequest, [
    'CPU per request, µs (all processes on the machine; "process under test" is the service or',
    "the baselines' process):",
  ]);
}

/**
 * Run delay per request by process group: how long each group was ready to run but waited for
 * a CPU, and how much of the scenario the tested process's event loop spent waiting so.
 */
function waitTable(rows: Row[]): string[] {
  const table = groupTable(rows, (r) => r.cpuWaitMicrosPerRequest ?? {}, [
    'Waiting for a CPU per request, µs (ready to run, every thread; Linux schedstat run delay):',
  ]);
  if (table.length === 0) return [];
  const loops = rows
    .filter((r) => r.mainThreadWaitShare !== undefined)
    .map((r) => `${r.name} ${Math.round(100 * (r.mainThreadWaitShare ?? 0))} %`);
  return [
    '',
    ...table,
    '',
    `Share of each scenario the tested process's main thread (its event loop) waited for a CPU: ${loops.join('; ')}.`,
  ];
}

/** A table of µs per request by process group (`of` picks the figures), under `title`. */
function groupTable(
  rows: Row[],
  of: (r: Row) => Record<string, number>,
  title: string[],
): string[] {
  if (rows.every((r) => Object.keys(of(r)).length === 0)) return [];
  const header = ['scenario', 'process under test', ...CPU_GROUPS];
  const lines = [
    ...title,
    '',
    `| ${header.join(' | ')} | other | total |`,
    `|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|---:|---:|`,
  ];
  for (const r of rows) {
    const by = of(r);
    const tested = r.target === 'service' ? (by.service ?? 0) : (by.baselines ?? 0);
    const cells = [tested, ...CPU_GROUPS.map((g) => by[g] ?? 0)];
    const total = Object.values(by).reduce((a, b) => a + b, 0);
    const other = total - cells.reduce((a, b) => a + b, 0);
    lines.push(`| ${r.name} | ${[...cells, other, total].map((n) => n.toFixed(0)).join(' | ')} |`);
  }
  return lines;
}

/** Tracing on against off, for the same scenario in the same run (issue 19). */
function tracingCost(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const on of rows.filter((r) => r.tracing)) {
    const off = rows.find((r) => !r.tracing && on.name.startsWith(`${r.name},`));
    if (!off) continue;
    const rss = on.rssMiB - off.rssMiB;
    lines.push(
      `"${on.name}" against tracing off ("${off.name}"): ${(on.reqPerSec / off.reqPerSec).toFixed(2)} × the req/s, p99 ${on.p99} against ${off.p99} ms, peak RSS ${rss >= 0 ? '+' : ''}${rss.toFixed(0)} MiB.`,
    );
  }
  return lines.length > 0 ? ['', ...lines] : [];
}

/** How far apart the floor's two measurements were: the run's own noise. */
function floorDrift(rows: Row[]): string[] {
  const [first, again] = [FLOOR, FLOOR_AGAIN].map((n) => rows.find((r) => r.name === n));
  if (!first || !again) return [];
  const apart = (Math.abs(first.reqPerSec - again.reqPerSec) / first.reqPerSec) * 100;
  return [
    '',
    `The floor measured ${first.reqPerSec.toFixed(0)} req/s first and ${again.reqPerSec.toFixed(0)} req/s ` +
      `again after the service's scenarios (${apart.toFixed(0)} % apart); "× floor" divides by their mean.`,
  ];
}
