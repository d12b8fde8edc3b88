import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { buildWorker, type Worker } from '../../src/app/worker.js';
import { authenticationRequested } from '../../src/documents/events.js';
import { amqpUrl, type Received, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { bearer, buildTestApp, createUser, login, testConfig } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';

/**
 * RabbitMQ cut under steady traffic, for the API and the worker at once. The cut lasts 3 s
 * here; `SOAK_SECONDS=300 npx vitest run tests/integration/rabbitmq-outage.test.ts` is the
 * long soak (minutes), which also prints what it measured.
 */
const CUT_MS = Number(process.env.SOAK_SECONDS ?? 3) * 1000;
const CHECK_EVERY_MS = 20;
const REQUEST_EVERY_MS = 200;

/**
 * Every id arrived, and once, except a publication in flight at the moment of the cut: the
 * broker may have routed it while its confirm was lost with the connection, so it is sent again,
 * with the same event id (delivery is at least once). Such a first copy arrived before the
 * restore; nothing the recovery itself sent arrives twice. Returns how many repeated.
 */
function expectEachOnce(received: Received[], key: string, ids: string[], beforeRestore: number) {
  const first = new Map<string, Received>();
  let repeated = 0;
  for (const [i, r] of received.entries()) {
    const id = String(r.body[key]);
    const earlier = first.get(id);
    if (!earlier) {
      first.set(id, r);
      continue;
    }
    repeated++;
    expect(received.indexOf(earlier), `${id} repeated after the restore`).toBeLessThan(
      beforeRestore,
    );
    expect(i).toBeGreaterThanOrEqual(beforeRestore);
    expect(r.msg.properties.messageId).toBe(earlier.msg.properties.messageId);
  }
  expect(new Set(first.keys())).toEqual(new Set(ids));
  expect(first.size).toBe(ids.length);
  return repeated;
}

withBroker('RabbitMQ cut under steady traffic', () => {
  let hub: Awaited<ReturnType<typeof startHub>>;
  let broker: TestBroker;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let proxy: TcpProxy;
  let app: App;
  let worker: Worker;
  const exchange = testExchange();

  beforeAll(async () => {
    hub = await startHub();
    broker = await TestBroker.open();
    broker.track(exchange);
    db = await freshDatabase();
    proxy = await TcpProxy.forUrl(amqpUrl as string).start();
    const env = {
      DATABASE_URL: db.url,
      GOVCARPETA_URL: hub.url,
      AMQP_URL: proxy.urlFor(amqpUrl as string),
      AMQP_EXCHANGE: exchange,
      CHECK_CACHE_TTL_SECONDS: '0',
      RATE_LIMIT_MAX: '0',
    };
    const tuning = { outbox: { pollMs: 500 } };
    app = await buildTestApp(env, { tuning });
    await app.ready();
    worker = await buildWorker(testConfig(env), { tuning });
    await worker.ready();
    await worker.broker?.channel.waitForConnect(); // the requests queue is declared by then
  });
  afterAll(async () => {
    await app?.close();
    await worker?.close();
    await proxy?.stop();
    await broker?.close();
    await hub?.close();
    await db?.drop();
  });

  it(
    'answers stay 200, the outbox grows and shows it, then every event arrives once and the consumer resumes',
    async () => {
      const checked = await broker.bind(exchange, 'affiliation.checked');
      const completed = await broker.bind(exchange, 'document.authentication.completed');
      const token = (await login(app, await createUser(app, ['service']))).access_token;
      const pendingOutbox = async () =>
        Number(/outbox_pending_events (\d+)/.exec((await app.inject('/metrics')).body)?.[1]);

      // Steady traffic until told to stop: checks through the API, document requests published
      // straight to RabbitMQ (by another client, as the hub's side would) for the worker.
      const checkIds: string[] = [];
      const failures: string[] = [];
      const requestIds: string[] = [];
      let running = true;
      const checks = (async () => {
        while (running) {
          const res = await app.inject({
            method: 'POST',
            url: '/api/v1/affiliation/check',
            headers: bearer(token),
            payload: { citizen_id: citizenId('eligible') },
          });
          if (res.statusCode === 200) checkIds.push(res.json().check_id);
          else failures.push(`${res.statusCode} ${res.body}`);
          await new Promise((r) => setTimeout(r, CHECK_EVERY_MS));
        }
      })();
      const request = () => {
        const messageId = `soak-${exchange}-${requestIds.length}`;
        requestIds.push(messageId);
        broker.channel.publish(
          exchange,
          authenticationRequested.routingKey,
          Buffer.from(
            JSON.stringify({
              messageId,
              documentId: messageId,
              idCitizen: Number(citizenId('eligible')),
              urlDocument: `https://docs.example.org/${messageId}.pdf`,
              documentTitle: 'Diploma',
            }),
          ),
          { persistent: true, contentType: 'application/json' },
        );
      };
      const requests = (async () => {
        while (running) {
          request();
          await new Promise((r) => setTimeout(r, REQUEST_EVERY_MS));
        }
      })();

      // Traffic flows end to end before the cut.
      await eventually(() => checked.length >= 5 && completed.length >= 3);
      proxy.cut();
      const cutAt = Date.now();
      await eventually(async () => (await app.inject('/health/ready')).statusCode === 503);
      await eventually(async () => (await worker.inject('/health/ready')).statusCode === 503);
      let peakPending = 0;
      let nextReport = cutAt + 30_000; // progress lines for the long soak
      while (Date.now() - cutAt < CUT_MS) {
        peakPending = Math.max(peakPending, await pendingOutbox());
        if (Date.now() >= nextReport) {
          nextReport += 30_000;
          process.stdout.write(
            `soak: ${Math.round((Date.now() - cutAt) / 1000)} s cut, outbox ${peakPending}\n`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
      const checkedDuringCut = checkIds.length - checked.length;
      const beforeRestore = { checked: checked.length, completed: completed.length };
      await proxy.restore();
      const restoredAt = Date.now();
      // Traffic goes on a while after the restore too.
      const atRestore = checkIds.length;
      await eventually(() => checkIds.length >= atRestore + 10);
      running = false;
      await Promise.all([checks, requests]);

      expect(failures).toEqual([]);
      expect(peakPending).toBeGreaterThan(0);
      expect(peakPending).toBeGreaterThanOrEqual(Math.min(checkedDuringCut, 50));

      const timeout = 30_000 + CUT_MS;
      await eventually(
        () => new Set(checked.map((c) => c.body.check_id)).size === checkIds.length,
        timeout,
      );
      await eventually(
        () => new Set(completed.map((c) => c.body.messageId)).size === requestIds.length,
        timeout,
      );
      const recoveredInMs = Date.now() - restoredAt;
      // Sentinels, one per relay: each relay publishes in the order events were written, so once
      // a later event arrives, any repeat of an earlier one (of this relay) has arrived before.
      const sentinel = await app.inject({
        method: 'POST',
        url: '/api/v1/affiliation/check',
        headers: bearer(token),
        payload: { citizen_id: citizenId('eligible') },
      });
      checkIds.push(sentinel.json().check_id);
      request();
      await eventually(() => checked.some((c) => c.body.check_id === checkIds.at(-1)));
      await eventually(() => completed.some((c) => c.body.messageId === requestIds.at(-1)));
      const repeated =
        expectEachOnce(checked, 'check_id', checkIds, beforeRestore.checked) +
        expectEachOnce(completed, 'messageId', requestIds, beforeRestore.completed);
      expect((await app.inject('/health/ready')).statusCode).toBe(200);
      expect((await worker.inject('/health/ready')).statusCode).toBe(200);
      await eventually(async () => (await pendingOutbox()) === 0);
      process.stdout.write(
        `RabbitMQ cut ${CUT_MS / 1000} s: ${checkIds.length} checks (all 200), ` +
          `${requestIds.length} document requests; outbox peak ${peakPending}; ` +
          `every event delivered ${recoveredInMs} ms after the restore; ` +
          `${repeated} repeated (in flight at the cut)\n`,
      );
    },
    120_000 + 2 * CUT_MS,
  );
});
