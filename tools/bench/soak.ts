import autocannon from 'autocannon';
import { constantArrivals, type Request } from './arrivals.js';
import { describeMachine, rssMiB, writeResults } from './processes.js';
import { judgeSoak, minutes, type SoakSample, soakSvg } from './soak-report.js';
import { log, openStack, type Stack } from './stack.js';

/**
 * `npm run bench:soak`: the service under mixed traffic for BENCH_SOAK_MINUTES (10) at 70 % of
 * the most it answered for that mix (measured first, closed model, 100 connections, for
 * BENCH_SOAK_PROBE seconds after a warm-up), as constant arrivals. Every second: answers, p99,
 * RSS, V8's used heap (from /metrics). Judges issue 20's soak rule (minute 10 against minute 2)
 * and writes tools/bench/results/soak-<time>.{md,json,svg}; exits 1 when the rule fails.
 * The mix: affiliation checks of unique ids (50 %) and of 20 hot ids (30 %), document
 * authentications (20 %). Settings as `npm run bench` (BENCH_NODE, BENCH_SERVICE_ENV…).
 */
const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const PROBE = Number(process.env.BENCH_SOAK_PROBE ?? 15);
const SHARE = 0.7;
const IN_FLIGHT = 100;

let stack: Stack | undefined;

function mixture(token: string): () => Request {
  // A fresh headers object per request: autocannon writes a content-length into the one it is given.
  const common = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  let next = 5_000_000_000;
  const hot = Array.from({ length: 20 }, (_, i) => String(6_000_000_000 + i));
  return () => {
    const headers = { ...common };
    const pick = Math.random();
    if (pick < 0.5 || pick >= 0.8) {
      const id = String(next++);
      if (pick < 0.5) {
        const body = JSON.stringify({ citizen_id: id });
        return { method: 'POST', path: '/api/v1/affiliation/check', headers, body };
      }
      const body = JSON.stringify({
        citizen_id: id,
        document_url: `https://files.example.org/${id}.pdf`,
        document_title: 'Diploma',
      });
      return { method: 'POST', path: '/api/v1/documents/authenticate', headers, body };
    }
    const citizen_id = hot[Math.floor(Math.random() * hot.length)];
    return {
      method: 'POST',
      path: '/api/v1/affiliation/check',
      headers,
      body: JSON.stringify({ citizen_id }),
    };
  };
}

/** The closed model's rate for the mix: 100 connections, each sending as soon as answered. */
async function probe(url: string, next: () => Request, seconds: number): Promise<number> {
  const r = await autocannon({
    url,
    connections: IN_FLIGHT,
    duration: seconds,
    requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }],
  });
  if (r.errors + r.timeouts + r.non2xx > 0) {
    throw new Error(`the probe failed: ${r.errors} errors, ${r.non2xx} non-2xx`);
  }
  return r.requests.average;
}

/** V8's used heap in MiB, from the service's own metrics. */
async function heapMiB(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const used = /^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1];
    return used === undefined ? undefined : Number(used) / 2 ** 20;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  if (!(MINUTES >= 3)) throw new Error('BENCH_SOAK_MINUTES must be 3 or more');
  stack = await openStack();
  const service = await stack.startService();
  const next = mixture(await stack.login(service));
  log(`- warm-up 5s, then the mix's maximum (closed model, ${IN_FLIGHT} connections, ${PROBE}s)`);
  await probe(service.url, next, 5);
  const max = await probe(service.url, next, PROBE);
  const rate = Math.round(SHARE * max);
  log(`- maximum ${max.toFixed(0)} req/s; soak at ${rate} req/s for ${MINUTES} min`);

  const samples: SoakSample[] = [];
  /** The heap scrapes in flight: each fills its second's sample when /metrics answers. */
  const scrapes: Promise<void>[] = [];
  const pid = service.proc.child.pid;
  const run = await constantArrivals({
    url: service.url,
    rate,
    durationSeconds: MINUTES * 60,
    maxInFlight: IN_FLIGHT,
    next,
    onSecond: (s) => {
      const sample: SoakSample = {
        t: s.t,
        answered: s.answered,
        p99: s.p99,
        rssMiB: rssMiB(pid),
        errors: s.errors,
        dropped: s.dropped,
      };
      samples.push(sample);
      scrapes.push(
        heapMiB(service.url).then((h) => {
          sample.heapMiB = h;
        }),
      );
      if (s.t % 60 === 0) {
        log(
          `  minute ${s.t / 60}: ${s.answered} req/s, p99 ${s.p99} ms, RSS ${sample.rssMiB.toFixed(0)} MiB`,
        );
      }
    },
  });
  await Promise.all(scrapes);
  const by = minutes(samples, run.latencies, run.answeredAt);
  const verdict = judgeSoak(by, run);

  const machine = describeMachine();
  const title = `Soak: ${MINUTES} min of mixed traffic at ${rate} req/s (70 % of ${max.toFixed(0)}), ${machine}`;
  const md = [
    `Machine: ${machine}`,
    '',
    `Mix: 50 % checks of unique ids, 30 % checks of 20 hot ids, 20 % document authentications. Maximum (closed model, ${IN_FLIGHT} connections): ${max.toFixed(0)} req/s; soak at ${rate} req/s, at most ${IN_FLIGHT} in flight.`,
    `Whole run: ${run.answered} answered, p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.errors} errors, ${run.timeouts} timeouts, ${run.non2xx} non-2xx, ${run.dropped} dropped${Object.keys(run.errorCodes).length > 0 ? ` (errors by code: ${JSON.stringify(run.errorCodes)})` : ''}.`,
    '',
    '| minute | req/s | p99 ms | RSS MiB | heap used MiB |',
    '|---:|---:|---:|---:|---:|',
    ...by.map(
      (m) =>
        `| ${m.minute} | ${m.reqPerSec.toFixed(0)} | ${m.p99} | ${m.rssMiB.toFixed(1)} | ${m.heapMiB.toFixed(1)} |`,
    ),
    '',
    '| budget | measured | |',
    '|---|---|---|',
    `| ${verdict.rule} | ${verdict.measured} | ${verdict.pass ? 'pass' : '**FAIL**'} |`,
  ].join('\n');
  process.stdout.write(`\n${md}\n`);
  const json = { machine, rate, max, minutes: by, samples, verdict, at: new Date().toISOString() };
  writeResults('soak-', {
    md: `${md}\n`,
    json: `${JSON.stringify(json, null, 2)}\n`,
    svg: soakSvg(samples, title),
  });
  return verdict.pass ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`soak failed: ${(err as Error).stack ?? err}`);
} finally {
  await stack?.close();
}
process.exit(code);
