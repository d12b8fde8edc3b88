import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { createDatabase } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { LOCAL_OPERATOR } from '../../src/hub/simulator.js';
import { topology } from '../../src/messaging/topology.js';
import { projectRoot } from '../shared/paths.js';
import { type ScratchDatabase, scratchDatabase } from '../shared/scratch-database.js';
import { cpuSnapshot, cpuUsed } from './cpu.js';
import {
  freePort,
  imageNodeOptions,
  nodeVersion,
  type Proc,
  rssMiB,
  start,
  waitReady,
} from './processes.js';
import { budget, FLOOR_AGAIN, FLOOR_EVENT, markdown, type Row } from './report.js';

/**
 * `npm run bench`: the service, the GovCarpeta simulator and the baselines as separate processes
 * against the local Postgres, Redis and RabbitMQ (relay running), driven by autocannon. Prints a
 * table with each scenario's ratio to the floor and writes it to tools/bench/results/. Exits 1 when the
 * budget of docs/performance.md does not hold. Settings: BENCH_DURATION (s, default 10),
 * BENCH_WARMUP (s, 3), BENCH_ONLY (a regex of scenario names; the floor always runs),
 * BENCH_PROFILE=1 (the service writes a CPU profile to tools/bench/results/profiles), BENCH_SERVICE_ENV
 * (space-separated NAME=value settings for the service, to compare tunings),
 * BENCH_NODE (the Node.js binary for the service, simulator and baselines),
 * BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_AMQP_URL.
 */
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const ONLY = new RegExp(process.env.BENCH_ONLY ?? '.');
/** The origin operator of the incoming transfers (allowed by PEER_ALLOWED_HOSTS, never called). */
const BENCH_ORIGIN = 'origin.bench.example';
const PROFILE = process.env.BENCH_PROFILE === '1';
/** `BENCH_SERVICE_ENV="DATABASE_POOL_MAX=4 HUB_CONNECTIONS=16"`: settings to try on the service. */
const SERVICE_ENV = Object.fromEntries(
  (process.env.BENCH_SERVICE_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const dbName = `ca_bench_${runId}`;
const exchange = `ca_bench_${runId}`;
const keyPrefix = `ca:bench:${runId}:`;
/** The quorum queue the floor-with-event baseline publishes to. */
const floorQueue = `ca_bench_${runId}.floor`;
const secret = randomBytes(48).toString('base64url');
const procs: Proc[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);

let scratch: ScratchDatabase | undefined;

async function setupDatabase(): Promise<string> {
  scratch = await scratchDatabase(PG, dbName);
  const database = await createDatabase({ databaseUrl: scratch.url, dataDir: 'unused' });
  await insertUser(database.db, {
    username: 'bench',
    passwordHash: await hashPassword('bench-password'),
    roles: ['service'],
  });
  await database.close();
  return scratch.url;
}

async function cleanup(): Promise<void> {
  await Promise.allSettled(procs.map((p) => p.stop()));
  await benchDb?.end({ timeout: 2 });
  await scratch?.drop().catch(() => {});
  const redis = new Redis(REDIS);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  const conn = await amqpConnect(AMQP).catch(() => undefined);
  if (conn) {
    const ch = await conn.createChannel();
    const t = topology(exchange);
    for (const q of [t.unroutedQueue, floorQueue]) await ch.deleteQueue(q).catch(() => {});
    for (const x of [t.exchange, t.unroutedExchange]) await ch.deleteExchange(x).catch(() => {});
    await conn.close().catch(() => {});
  }
}

interface Scenario {
  name: string;
  target: Proc;
  url: string;
  connections: number;
  method: 'GET' | 'POST';
  path: string;
  token?: boolean;
  body?: () => unknown;
  /** A request slower than this counts as a timeout (default 10 s). */
  timeoutSeconds?: number;
  /** False: no warm-up (its unanswered requests would still be queued at the start). */
  warmUp?: boolean;
  /** Each request from another client address (X-Forwarded-For, which the service trusts here). */
  manyClients?: boolean;
  /**
   * Requests each connection sends in turn, in place of `method`/`path`/`body` (which then only
   * name the first): a `setupRequest` may keep what the next one needs in the context.
   */
  steps?: autocannon.Request[];
}

/**
 * The check scenario against the service with tracing on: every request sampled (the worst
 * case), and one in ten (`parentbased_traceidratio`, what docs/operations.md suggests).
 */
const TRACED = {
  'check, unique ids, tracing on': { OTEL_TRACES_SAMPLER: 'always_on' },
  'check, unique ids, tracing on, 10 % sampled': {
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.1',
  },
} as const;

let nextClient = 0;
/** A client address of its own: 10.x.y.z, a fresh one per request. */
const clientAddress = () => {
  const n = nextClient++;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
};

function cannon(s: Scenario, token: string, seconds: number) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (s.token) headers.authorization = `Bearer ${token}`;
  const make = s.body;
  return autocannon({
    url: s.url,
    connections: s.connections,
    duration: seconds,
    timeout: s.timeoutSeconds ?? 10,
    requests: s.steps?.map((step) => ({ ...step, headers: { ...headers, ...step.headers } })) ?? [
      {
        method: s.method,
        path: s.path,
        headers,
        ...(make || s.manyClients
          ? {
              setupRequest: (req: autocannon.Request) => ({
                ...req,
                ...(make ? { body: JSON.stringify(make()) } : {}),
                ...(s.manyClients
                  ? { headers: { ...req.headers, 'x-forwarded-for': clientAddress() } }
                  : {}),
              }),
            }
          : {}),
      },
    ],
  });
}

/** The bench's own connection to the run's database (pending events). */
let benchDb: postgres.Sql | undefined;

/** Events committed but not yet published: what a scenario left for the relay to do later. */
async function pendingEvents(): Promise<number> {
  if (!benchDb) return 0;
  const [row] = await benchDb`select count(*)::int as n from outbox where sent_at is null`;
  return (row?.n as number | undefined) ?? 0;
}

async function measure(s: Scenario, token: string): Promise<Row> {
  const warm = s.warmUp === false ? 0 : WARMUP;
  log(`- ${s.name} (${s.connections} connections): warm-up ${warm}s, then ${DURATION}s`);
  if (warm > 0) await cannon(s, token, warm);
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(s.target.child.pid));
  }, 250);
  const named = new Map(procs.map((p) => [p.child.pid ?? 0, p.name]));
  named.set(process.pid, 'load generator');
  const before = cpuSnapshot(named);
  const r = await cannon(s, token, DURATION);
  const used = cpuUsed(before, cpuSnapshot(named));
  clearInterval(sampler);
  const eventsPending = s.target.name === 'service' ? await pendingEvents() : 0;
  const traced = s.name in TRACED;
  const answered = Math.max(1, r.requests.total);
  return {
    name: s.name,
    target: s.target.name === 'service' ? 'service' : 'baseline',
    ...(traced && { tracing: true }),
    connections: s.connections,
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    rssMiB: peak,
    eventsPending,
    cpuMicrosPerRequest: Object.fromEntries(
      Object.entries(used).map(([group, seconds]) => [group, (seconds * 1e6) / answered]),
    ),
  };
}

async function main(): Promise<number> {
  log(`bench ${runId}: database ${dbName}, exchange ${exchange}`);
  const databaseUrl = await setupDatabase();
  benchDb = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const [simPort, servicePort, basePort] = [await freePort(), await freePort(), await freePort()];

  const sim = start('simulator', ['dist/src/cli/hub-sim.js'], {
    HUB_SIM_PORT: String(simPort),
    LOG_LEVEL: 'warn',
  });
  procs.push(sim);
  await waitReady(`http://127.0.0.1:${simPort}/apis/getOperators`, sim);

  const profile = [
    '--cpu-prof',
    `--cpu-prof-dir=${join(projectRoot, 'tools/bench/results/profiles')}`,
  ];
  const serviceEnv = (port: number) => ({
    NODE_ENV: 'production',
    NODE_OPTIONS: imageNodeOptions(), // as in the image
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS,
    REDIS_KEY_PREFIX: keyPrefix,
    AMQP_URL: AMQP,
    AMQP_EXCHANGE: exchange,
    GOVCARPETA_URL: `http://127.0.0.1:${simPort}`,
    OPERATOR_ID: LOCAL_OPERATOR.id,
    OPERATOR_NAME: LOCAL_OPERATOR.name,
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    // The incoming-transfer scenario's origin: its callbacks are never due (the transfers wait
    // for the documents service), so the host needs no address.
    PEER_ALLOWED_HOSTS: `${BENCH_ORIGIN}:443`,
    JWT_SECRET: secret,
    SECURITY_LOG_KEY: randomBytes(48).toString('base64url'),
    // Measure the service, not its rate limit. The bench stands for a proxy in front of many
    // clients: the login scenario sends each login from a client address of its own (the failed
    // login limit counts attempts per address and user before checking them).
    RATE_LIMIT_MAX: '0',
    TRUST_PROXY: '127.0.0.1',
    ...SERVICE_ENV,
  });
  const service = start(
    'service',
    [...(PROFILE ? profile : []), 'dist/src/server.js'],
    serviceEnv(servicePort),
  );
  procs.push(service);
  const serviceUrl = `http://127.0.0.1:${servicePort}`;
  await waitReady(`${serviceUrl}/health/ready`, service);

  const baselines = start('baselines', ['--import', 'tsx', 'tools/bench/baselines.ts'], {
    NODE_ENV: 'production',
    NODE_OPTIONS: imageNodeOptions(), // the references run with the service's runtime settings
    PORT: String(basePort),
    DATABASE_URL: databaseUrl,
    REDIS_URL: REDIS,
    JWT_SECRET: secret,
    AMQP_URL: AMQP,
    FLOOR_QUEUE: floorQueue,
  });
  procs.push(baselines);
  const baseUrl = `http://127.0.0.1:${basePort}`;
  await waitReady(`${baseUrl}/bare`, baselines);

  // The same service with tracing on, exporting its spans to the baselines' process (a collector
  // that takes and drops them): one process per sampler, started only when its scenario runs.
  // Named "service" too: its CPU and RSS are the service's; each idles while the others run.
  const traced = new Map<string, [Proc, string]>();
  for (const [name, sampler] of Object.entries(TRACED)) {
    if (!ONLY.test(name)) continue;
    const port = await freePort();
    const proc = start('service', ['dist/src/server.js'], {
      ...serviceEnv(port),
      OTEL_EXPORTER_OTLP_ENDPOINT: baseUrl,
      ...sampler,
    });
    procs.push(proc);
    traced.set(name, [proc, `http://127.0.0.1:${port}`]);
    await waitReady(`http://127.0.0.1:${port}/health/ready`, proc);
  }

  const login = await fetch(`${serviceUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };

  let next = 2_000_000_000;
  const unique = () => String(next++);
  const hot = Array.from({ length: 20 }, (_, i) => String(3_000_000_000 + i));
  const hotId = () => hot[Math.floor(Math.random() * hot.length)] as string;
  /** A baseline POST taking a unique citizen id: the floor and its variants. */
  const floorScenario = (name: string, path: string, connections = 100): Scenario => ({
    name,
    target: baselines,
    url: baseUrl,
    connections,
    method: 'POST',
    path,
    token: true,
    body: () => ({ citizen_id: unique() }),
  });
  /** An affiliation check of the service, its citizen id from `id`. */
  const checkScenario = (
    name: string,
    id: () => string,
    connections = 100,
    [target, url] = [service, serviceUrl],
  ): Scenario => ({
    name,
    target,
    url,
    connections,
    method: 'POST',
    path: '/api/v1/affiliation/check',
    token: true,
    body: () => ({ citizen_id: id() }),
  });
  let nextCitizen = 0;
  /** A citizen id nobody has: the simulator's rule says an even last digit is free. */
  const freeId = () => String(4_000_000_000 + 2 * nextCitizen++);
  type Context = { citizenId?: string };
  /** Each connection registers a citizen no one has, then unregisters it: two hub calls. */
  const citizensScenario: Scenario = {
    name: 'citizens: register, then unregister (unique ids)',
    target: service,
    url: serviceUrl,
    connections: 100,
    method: 'POST',
    path: '/api/v1/citizens',
    token: true,
    steps: [
      {
        method: 'POST',
        path: '/api/v1/citizens',
        setupRequest: (req, context) => {
          const id = freeId();
          (context as Context).citizenId = id;
          const body = { citizen_id: id, name: 'Ana María Pérez', address: 'Calle 10 # 20-30' };
          return { ...req, body: JSON.stringify({ ...body, email: `c${id}@example.org` }) };
        },
      },
      {
        method: 'DELETE',
        path: '/api/v1/citizens',
        setupRequest: (req, context) => {
          const { 'content-type': _, ...headers } = req.headers ?? {}; // no body, so no type
          return { ...req, headers, path: `${req.path}/${(context as Context).citizenId}` };
        },
      },
    ],
  };
  /**
   * Another operator sends us citizens (unique ids): validation, the guard, the transfer and its
   * `transfer.citizen.received` event in one transaction. The steps wait for the documents
   * service, so what is measured is the receipt.
   */
  const incomingScenario: Scenario = {
    name: 'transfers: incoming (unique ids)',
    target: service,
    url: serviceUrl,
    connections: 100,
    method: 'POST',
    path: '/api/transferCitizen',
    // Peers' endpoints are limited per source address: each request from an address of its own.
    manyClients: true,
    body: () => {
      const id = unique();
      return {
        id: Number(id),
        citizenName: 'Ana María Pérez',
        citizenEmail: `c${id}@example.org`,
        urlDocuments: { Diploma: [`https://files.example.org/${id}.pdf`] },
        confirmAPI: `https://${BENCH_ORIGIN}/api/transferCitizenConfirm`,
      };
    },
  };
  const tracedScenarios = [...traced].map(([name, target]) =>
    checkScenario(name, unique, 100, target),
  );
  const scenarios: Scenario[] = [
    {
      name: 'bare fastify (baseline)',
      target: baselines,
      url: baseUrl,
      connections: 100,
      method: 'GET',
      path: '/bare',
    },
    floorScenario('floor (baseline)', '/floor'),
    floorScenario(FLOOR_EVENT, '/floor-event'),
    {
      name: 'health/live',
      target: service,
      url: serviceUrl,
      connections: 100,
      method: 'GET',
      path: '/health/live',
    },
    checkScenario('check, unique ids', unique),
    // Issue 19: what tracing costs when on (every request sampled and exported); off is the row
    // above, whose code paths test one flag.
    ...tracedScenarios,
    checkScenario('check, hot ids', hotId),
    {
      name: 'documents/authenticate',
      target: service,
      url: serviceUrl,
      connections: 100,
      method: 'POST',
      path: '/api/v1/documents/authenticate',
      token: true,
      body: () => ({
        citizen_id: unique(),
        document_url: `https://files.example.org/${next}.pdf`,
        document_title: 'Diploma',
      }),
    },
    citizensScenario,
    incomingScenario,
    // The reference again: the machine drifts during a run, and the ratios use the mean.
    floorScenario(FLOOR_AGAIN, '/floor'),
    // The same 1,000 fresh connections against the floor: on Node 20+ a process at full CPU
    // accepts one connection per event-loop turn (libuv 1.45, libuv/libuv#3696), so some of a
    // burst of new connections wait in the kernel's accept queue; this row shows how much of
    // that any server here suffers.
    floorScenario('floor, 1000 connections (baseline)', '/floor', 1000),
    checkScenario('check, hot ids, 1000 connections', hotId, 1000),
    // What a k6 run of 1,000 virtual users with their own ids does: every request asks the hub,
    // four times HUB_MAX_CONCURRENT's worth at once (issue 20: the bulkhead must queue, not refuse).
    checkScenario('check, unique ids, 1000 connections', unique, 1000),
    // Last, with a long timeout: each login is ~100 ms of scrypt on the 4-thread libuv pool, so
    // 100 concurrent logins queue for seconds, and their backlog would slow what follows.
    {
      name: 'login',
      target: service,
      url: serviceUrl,
      connections: 100,
      method: 'POST',
      path: '/api/v1/auth/login',
      body: () => ({ username: 'bench', password: 'bench-password' }),
      manyClients: true,
      timeoutSeconds: 60,
      warmUp: false,
    },
  ];
  const rows: Row[] = [];
  for (const s of scenarios) {
    const always = s.name.startsWith('floor') && s.connections === 100; // the two references
    if (always || ONLY.test(s.name)) rows.push(await measure(s, token));
  }

  const budgets = budget(rows);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpus().length} × ${cpu}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${nodeVersion()} (load generator on ${process.version}), ${DURATION}s per scenario after ${WARMUP}s warm-up`;
  const md = markdown(rows, budgets, machine);
  process.stdout.write(`\n${md}`);
  const dir = join(projectRoot, 'tools/bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(dir, `${stamp}.md`), md);
  writeFileSync(
    join(dir, `${stamp}.json`),
    `${JSON.stringify({ machine, rows, budgets }, null, 2)}\n`,
  );
  log(`written to tools/bench/results/${stamp}.{md,json}`);
  return budgets.every((b) => b.pass) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(code);
