import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { createDatabase } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { LOCAL_OPERATOR } from '../../src/hub/simulator.js';
import { topology } from '../../src/messaging/topology.js';
import { projectRoot } from '../shared/paths.js';
import { type ScratchDatabase, scratchDatabase } from '../shared/scratch-database.js';
import { freePort, imageEnv, type Proc, start, waitReady } from './processes.js';

/**
 * What every bench run stands on: a database of its own (migrated, one `service` user), the
 * GovCarpeta simulator, and services started on demand with the image's settings against the
 * local Postgres, Redis and RabbitMQ (relay running). `close()` stops the processes and removes
 * the run's database, Redis keys, exchange and queues. Settings: BENCH_DATABASE_URL,
 * BENCH_REDIS_URL, BENCH_AMQP_URL, BENCH_PROFILE=1 (the first service writes a CPU profile to
 * tools/bench/results/profiles), BENCH_SERVICE_ENV (space-separated NAME=value settings for the
 * services, to compare tunings).
 */

const PG = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PROFILE = process.env.BENCH_PROFILE === '1';
/** `BENCH_SERVICE_ENV="DATABASE_POOL_MAX=4 HUB_CONNECTIONS=16"`: settings to try on the service. */
const SERVICE_ENV = Object.fromEntries(
  (process.env.BENCH_SERVICE_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** The origin operator of the incoming transfers (allowed by PEER_ALLOWED_HOSTS, never called). */
export const BENCH_ORIGIN = 'origin.bench.example';

export const log = (s: string) => process.stderr.write(`${s}\n`);

export interface Service {
  proc: Proc;
  url: string;
}

export interface Stack {
  runId: string;
  databaseUrl: string;
  /** The secret the services sign tokens with (the baselines verify the same tokens). */
  jwtSecret: string;
  /** The quorum queue the floor-with-event baseline publishes to (deleted by `close`). */
  floorQueue: string;
  procs: Proc[];
  /** Starts a service (named "service": its CPU and RSS are the service's) and waits for it. */
  startService: (extraEnv?: Record<string, string>) => Promise<Service>;
  /** An access token of the `service` user. */
  login: (service: Service) => Promise<string>;
  /** Events committed but not yet published: what a scenario left for the relay to do later. */
  pendingEvents: () => Promise<number>;
  close: () => Promise<void>;
}

export async function openStack(): Promise<Stack> {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const dbName = `ca_bench_${runId}`;
  const exchange = `ca_bench_${runId}`;
  const keyPrefix = `ca:bench:${runId}:`;
  const floorQueue = `ca_bench_${runId}.floor`;
  const jwtSecret = randomBytes(48).toString('base64url');
  const procs: Proc[] = [];
  log(`bench ${runId}: database ${dbName}, exchange ${exchange}`);

  let scratch: ScratchDatabase | undefined;
  let db: postgres.Sql | undefined;
  const close = async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await db?.end({ timeout: 2 });
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
  };

  try {
    scratch = await scratchDatabase(PG, dbName);
    const database = await createDatabase({ databaseUrl: scratch.url, dataDir: 'unused' });
    await insertUser(database.db, {
      username: 'bench',
      passwordHash: await hashPassword('bench-password'),
      roles: ['service'],
    });
    await database.close();
    const databaseUrl = scratch.url;
    db = postgres(databaseUrl, { max: 1, onnotice: () => {} });

    // A run that dies on an uncaught error still takes its processes with it.
    process.once('exit', () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    });
    const simPort = await freePort();
    const sim = start('simulator', ['dist/src/cli/hub-sim.js'], {
      HUB_SIM_PORT: String(simPort),
      HUB_SIM_PEER_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    procs.push(sim);
    await waitReady(`http://127.0.0.1:${simPort}/apis/getOperators`, sim);

    let profiled = false;
    const startService = async (extraEnv: Record<string, string> = {}) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const profile = PROFILE && !profiled;
      profiled ||= profile;
      const args = profile
        ? ['--cpu-prof', `--cpu-prof-dir=${join(projectRoot, 'tools/bench/results/profiles')}`]
        : [];
      const proc = start('service', [...args, 'dist/src/server.js'], {
        NODE_ENV: 'production',
        ...imageEnv(), // NODE_OPTIONS and the allocator's settings, as in the image
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
        PUBLIC_BASE_URL: url,
        // The incoming-transfer scenario's origin: its callbacks are never due (the transfers
        // wait for the documents service), so the host needs no address.
        PEER_ALLOWED_HOSTS: `${BENCH_ORIGIN}:443`,
        JWT_SECRET: jwtSecret,
        SECURITY_LOG_KEY: randomBytes(48).toString('base64url'),
        // Measure the service, not its rate limit. The bench stands for a proxy in front of many
        // clients: the login scenario sends each login from a client address of its own (the
        // failed login limit counts attempts per address and user before checking them).
        RATE_LIMIT_MAX: '0',
        TRUST_PROXY: '127.0.0.1',
        ...SERVICE_ENV,
        ...extraEnv,
      });
      procs.push(proc);
      await waitReady(`${url}/health/ready`, proc);
      return { proc, url };
    };

    const login = async (service: Service) => {
      const res = await fetch(`${service.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
      });
      return ((await res.json()) as { access_token: string }).access_token;
    };

    const pendingEvents = async () => {
      const [row] = await (db as postgres.Sql)`
        select count(*)::int as n from outbox where sent_at is null`;
      return (row?.n as number | undefined) ?? 0;
    };

    return {
      runId,
      databaseUrl,
      jwtSecret,
      floorQueue,
      procs,
      startService,
      login,
      pendingEvents,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export { AMQP, REDIS };
