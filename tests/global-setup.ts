import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../db/client.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A database created for this run (migrated), or null when Postgres is not reachable. */
    databaseUrl: string | null;
    redisUrl: string | null;
    amqpUrl: string | null;
    /**
     * RabbitMQ in a vhost of this run's own (made with rabbitmqctl), for tests of queues whose
     * names are fixed wire names (the neighbours' `register.citizen.requested`): no other run's
     * leftovers reach them. Null when no vhost could be made.
     */
    amqpVhostUrl: string | null;
    /** Another such vhost, for the worker of the transfer tests (it consumes the same queues). */
    amqpTransfersVhostUrl: string | null;
    /** Unique per run: Redis key prefix, queue names. */
    runId: string;
  }
}

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Creates this run's database and checks Redis; under CI=true a missing service fails the run. */
export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const dbName = `ca_test_${runId}`;
  const problems: string[] = [];

  const admin = postgres(ADMIN_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  let databaseUrl: string | null = null;
  try {
    await admin.unsafe(`create database "${dbName}"`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
    const database = await createDatabase({ databaseUrl, dataDir: 'unused' });
    await database.migrate();
    await database.close();
  } catch (err) {
    problems.push(`PostgreSQL at ${ADMIN_URL}: ${(err as Error).message}`);
  }

  let redisUrl: string | null = null;
  const redis = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    redisUrl = REDIS_URL;
  } catch (err) {
    problems.push(`Redis at ${REDIS_URL}: ${(err as Error).message}`);
  }

  let amqpUrl: string | null = null;
  try {
    const connection = await amqpConnect(AMQP_URL, { timeout: 5000 });
    await connection.close();
    amqpUrl = AMQP_URL;
  } catch (err) {
    problems.push(`RabbitMQ at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')}: ${(err as Error).message}`);
  }

  const vhosts = [`ca_test_${runId}`, `ca_test_${runId}_transfers`];
  const vhostUrls: (string | null)[] = [null, null];
  if (amqpUrl) {
    for (const [i, vhost] of vhosts.entries()) {
      try {
        await rabbitVhost('add', vhost);
        const url = new URL(AMQP_URL);
        url.pathname = `/${vhost}`;
        vhostUrls[i] = url.toString();
      } catch (err) {
        problems.push(`RabbitMQ vhost ${vhost}: ${(err as Error).message}`);
      }
    }
  }
  const [amqpVhostUrl = null, amqpTransfersVhostUrl = null] = vhostUrls;

  if (problems.length > 0) {
    const message = `Services missing for integration tests:\n  ${problems.join('\n  ')}`;
    if (process.env.CI === 'true') throw new Error(`${message}\n(CI=true: this is a failure)`);
    console.error(`${message}\nIntegration tests that need them are SKIPPED (not under CI).`);
  }

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  project.provide('amqpUrl', amqpUrl);
  project.provide('amqpVhostUrl', amqpVhostUrl);
  project.provide('amqpTransfersVhostUrl', amqpTransfersVhostUrl);
  project.provide('runId', runId);

  return async () => {
    if (databaseUrl) {
      // This run's database and any a test made for itself and could not drop.
      const rows = await admin<{ datname: string }[]>`
        select datname from pg_database where datname like ${`${dbName}%`}`;
      for (const { datname } of rows) {
        await admin.unsafe(`drop database if exists "${datname}" with (force)`);
      }
    }
    await admin.end();
    if (redisUrl) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `ca:test:${runId}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
    redis.disconnect();
    for (const [i, vhost] of vhosts.entries()) {
      if (vhostUrls[i]) await rabbitVhost('delete', vhost).catch(() => {}); // gone with the broker
    }
  };
}

/**
 * Adds (with the test user's permissions) or deletes a RabbitMQ vhost: with `rabbitmqctl` where
 * the broker runs on this machine, else through the management HTTP API
 * (`TEST_AMQP_MANAGEMENT_URL`, default http://<amqp user>@<amqp host>:15672), as on a CI runner
 * whose RabbitMQ is a container.
 */
async function rabbitVhost(action: 'add' | 'delete', vhost: string): Promise<void> {
  const amqp = new URL(AMQP_URL);
  const user = decodeURIComponent(amqp.username) || 'guest';
  if (process.env.TEST_AMQP_MANAGEMENT_URL === undefined && hasRabbitmqctl()) {
    const ctl = (...args: string[]) =>
      execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 30_000 });
    if (action === 'delete') return void ctl('delete_vhost', vhost);
    ctl('add_vhost', vhost);
    ctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    return;
  }
  const api = new URL(
    process.env.TEST_AMQP_MANAGEMENT_URL ??
      `http://${amqp.username || 'guest'}:${amqp.password || 'guest'}@${amqp.hostname}:15672`,
  );
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(api.username)}:${decodeURIComponent(api.password)}`).toString('base64')}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(path, `${api.protocol}//${api.host}`), {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) throw new Error(`management API ${method} ${path}: ${res.status}`);
  };
  const name = encodeURIComponent(vhost);
  if (action === 'delete') return call('DELETE', `/api/vhosts/${name}`);
  await call('PUT', `/api/vhosts/${name}`);
  await call('PUT', `/api/permissions/${name}/${encodeURIComponent(user)}`, {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
}

function hasRabbitmqctl(): boolean {
  try {
    execFileSync('rabbitmqctl', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
