import { randomBytes } from 'node:crypto';
import { expect, inject, it, onTestFinished } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { amqpUrl, type Received, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { freePort, runScript } from '../helpers/process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';

/**
 * The API process killed with SIGKILL (no shutdown hook runs) while decisions are committed but
 * their events are not yet published. A new process must publish every one of them: nothing
 * lost, and a duplicate only ever as a redelivery of the same event id.
 */
withBroker('crash and shutdown: SIGKILL between commit and publish, SIGTERM under load', () => {
  const setup = async () => {
    const db = await freshDatabase();
    const broker = await TestBroker.open();
    const hub = await startHub();
    const proxy = await TcpProxy.forUrl(amqpUrl as string).start();
    const exchange = testExchange();
    broker.track(exchange);
    const database = await createDatabase({ databaseUrl: db.url, dataDir: 'unused' });
    await insertUser(database.db, {
      username: 'crash',
      passwordHash: await hashPassword('crash-test-password', { N: 2 ** 10, r: 8, p: 1 }),
      roles: ['service'],
    });
    await database.close();
    const port = await freePort();
    const env = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      REDIS_URL: inject('redisUrl') as string,
      REDIS_KEY_PREFIX: `ca:test:${exchange}:`,
      AMQP_URL: proxy.urlFor(amqpUrl as string),
      AMQP_EXCHANGE: exchange,
      GOVCARPETA_URL: hub.url,
      JWT_SECRET: randomBytes(48).toString('base64url'),
      SECURITY_LOG_KEY: randomBytes(48).toString('base64url'),
      CHECK_CACHE_TTL_SECONDS: '0',
    };
    const procs: ReturnType<typeof runScript>[] = [];
    onTestFinished(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await proxy.stop();
      await broker.close();
      await hub.close();
      await db.drop();
    });
    const base = `http://127.0.0.1:${port}/api/v1`;
    const startApi = async () => {
      const run = runScript('src/server.ts', [], env);
      procs.push(run);
      await run.waitFor(/Server listening/);
      const res = await fetch(`${base}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'crash', password: 'crash-test-password' }),
      });
      const token = ((await res.json()) as { access_token: string }).access_token;
      const check = async () => {
        const r = await fetch(`${base}/affiliation/check`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ citizen_id: citizenId('eligible') }),
        });
        return { status: r.status, body: (await r.json()) as { check_id: string } };
      };
      return { run, check };
    };
    const received = await broker.bind(exchange, 'affiliation.checked');
    return { proxy, received, startApi, env };
  };

  /**
   * Waits for a sentinel: one more check through `api` and its event. The relay publishes in the
   * order events were written, so a repeat of an earlier event has arrived before it.
   */
  const sentinel = async (
    api: { check: () => Promise<{ body: { check_id: string } }> },
    received: Received[],
  ) => {
    const { check_id } = (await api.check()).body;
    await eventually(() => received.some((r) => r.body.check_id === check_id));
    return check_id;
  };

  /** Every answered check arrived; repeated deliveries of one check carry one event id. */
  const expectAllOnceOrRedelivered = (ids: string[], received: Received[]) => {
    const eventIds = new Map<string, Set<string>>();
    for (const r of received) {
      const checkId = String(r.body.check_id);
      const set = eventIds.get(checkId) ?? new Set();
      set.add(String(r.msg.properties.messageId));
      eventIds.set(checkId, set);
    }
    for (const id of ids) expect(eventIds.get(id)?.size, `event of ${id}`).toBe(1);
  };

  it('publishes on restart what was committed before the kill (broker away)', async () => {
    const { proxy, received, startApi } = await setup();
    const first = await startApi();
    proxy.cut(); // committed from now on, never published by this process
    const answers = await Promise.all(Array.from({ length: 40 }, () => first.check()));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    first.run.child.kill('SIGKILL');
    expect((await first.run.exited).signal).toBe('SIGKILL');
    expect(received).toHaveLength(0);

    await proxy.restore();
    const second = await startApi();
    const ids = answers.map((a) => a.body.check_id);
    await eventually(() => new Set(received.map((r) => r.body.check_id)).size >= ids.length);
    ids.push(await sentinel(second, received));
    expect(received).toHaveLength(ids.length); // nothing was in flight: exactly once
    expectAllOnceOrRedelivered(ids, received);
  }, 60_000);

  it('loses nothing when killed with the relay in flight (at least once, stable ids)', async () => {
    const { received, startApi } = await setup();
    const first = await startApi();
    const answered: string[] = [];
    const traffic = (async () => {
      for (;;) {
        const a = await first.check().catch(() => undefined);
        if (!a) return; // the process is gone
        if (a.status === 200) answered.push(a.body.check_id);
      }
    })();
    await eventually(() => answered.length >= 60 && received.length > 0);
    first.run.child.kill('SIGKILL');
    await first.run.exited;
    await traffic;

    await startApi();
    await eventually(() => {
      const arrived = new Set(received.map((r) => String(r.body.check_id)));
      return answered.every((id) => arrived.has(id));
    });
    expectAllOnceOrRedelivered(answered, received);
  }, 60_000);

  it('SIGTERM under load: requests in flight are answered, exit 0 in the grace period, events kept', async () => {
    const { received, startApi } = await setup();
    const first = await startApi();
    const answered: string[] = [];
    let stoppedAt = Number.POSITIVE_INFINITY;
    const started: { at: number; status: Promise<number> }[] = [];
    const client = async () => {
      for (;;) {
        const startedAt = Date.now();
        const pending = first.check().then(
          (a) => {
            if (a.status === 200) answered.push(a.body.check_id);
            return a.status;
          },
          () => -1, // refused or closed: only allowed once the server stopped listening
        );
        started.push({ at: startedAt, status: pending });
        if ((await pending) === -1 || Date.now() > stoppedAt + 3000) return;
      }
    };
    const clients = Array.from({ length: 20 }, client);
    await eventually(() => answered.length >= 100);
    stoppedAt = Date.now();
    first.run.child.kill('SIGTERM');
    const exit = await first.run.exited;
    const shutdownMs = Date.now() - stoppedAt;
    await Promise.all(clients);

    expect(exit, first.run.output().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(shutdownMs).toBeLessThan(10_000); // SHUTDOWN_GRACE_MS
    // Every request sent before SIGTERM (10 ms before: on its way to the socket) got its answer.
    const statuses = await Promise.all(
      started.filter((r) => r.at <= stoppedAt - 10).map((r) => r.status),
    );
    expect(statuses.filter((s) => s === -1)).toEqual([]);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);

    // What the relay had not published before it stopped, the next process does; once each.
    const second = await startApi();
    await eventually(() => {
      const arrived = new Set(received.map((r) => String(r.body.check_id)));
      return answered.every((id) => arrived.has(id));
    });
    await sentinel(second, received);
    const ids = received.map((r) => String(r.body.check_id));
    expect(new Set(ids).size).toBe(ids.length);
  }, 60_000);
});
