import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { affiliationChecked } from '../../src/affiliation/events.js';
import type { App } from '../../src/app/api.js';
import type { TuningOverrides } from '../../src/config/tuning.js';
import { topology } from '../../src/messaging/topology.js';
import { amqpUrl, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { bearer, buildTestApp, createUser, login } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { expectProblem } from '../helpers/problem.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

withBroker('events: outbox, relay and RabbitMQ', () => {
  let hub: Hub;
  let broker: TestBroker;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const apps: App[] = [];

  const start = async (env: Record<string, string>, outbox: TuningOverrides['outbox'] = {}) => {
    const app = await buildTestApp(
      {
        DATABASE_URL: db.url,
        GOVCARPETA_URL: hub.url,
        AMQP_URL: amqpUrl ?? '',
        CHECK_CACHE_TTL_SECONDS: '0',
        // These tests send hundreds of checks; the rate limit's counter is shared (Redis, one
        // address) with the test files running alongside, which would get 429s.
        RATE_LIMIT_MAX: '0',
        ...env,
      },
      { tuning: { outbox: { pollMs: 200, ...outbox } } },
    );
    apps.push(app);
    await app.ready();
    broker.track(env.AMQP_EXCHANGE ?? 'citizen_affiliation');
    return app;
  };
  const tokenFor = async (app: App) =>
    (await login(app, await createUser(app, ['service']))).access_token;
  const check = (app: App, token: string, id: string) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/affiliation/check',
      headers: bearer(token),
      payload: { citizen_id: id },
    });

  /** Events this app's relay has had confirmed by RabbitMQ. */
  const publishedBy = async (app: App) =>
    Number(
      /events_published_total\{routing_key="affiliation.checked"\} (\d+)/.exec(
        (await app.inject('/metrics')).body,
      )?.[1] ?? 0,
    );
  const pendingOf = async (app: App) =>
    Number(/outbox_pending_events (\d+)/.exec((await app.inject('/metrics')).body)?.[1]);

  /** The outbox row of a check's event. */
  const outboxRow = async (app: App, checkId: string) =>
    (
      (await app.db.execute(
        sql`select attempts, last_error, sent_at from outbox where payload->>'check_id' = ${checkId}`,
      )) as unknown as { attempts: number; last_error: string | null; sent_at: Date | null }[]
    )[0];

  beforeAll(async () => {
    hub = await startHub();
    broker = await TestBroker.open();
    db = await freshDatabase();
  });
  // Every relay publishes every pending row of the database: one test's apps at a time.
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
  });
  afterAll(async () => {
    await broker?.close();
    await hub?.close();
    await db?.drop();
  });

  it('publishes each decision with its CloudEvents headers, persistent, as the contract says', async () => {
    const exchange = testExchange();
    const app = await start({ AMQP_EXCHANGE: exchange });
    const received = await broker.bind(exchange, 'affiliation.checked');
    const res = await check(app, await tokenFor(app), citizenId('affiliated'));
    expect(res.statusCode).toBe(200);
    await eventually(() => received.length === 1);
    const [{ msg, body }] = received as [(typeof received)[number]];
    expect(affiliationChecked.schema.parse(body)).toEqual({
      event_type: 'affiliation.checked',
      check_id: res.json().check_id,
      citizen_id: res.json().citizen_id,
      eligible: false,
      status: 'ALREADY_AFFILIATED',
      timestamp: res.json().checked_at,
    });
    const p = msg.properties;
    expect(p.deliveryMode).toBe(2);
    expect(p.contentType).toBe('application/json');
    expect(p.type).toBe('affiliation.checked');
    expect(typeof p.timestamp).toBe('number');
    expect(p.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': p.messageId,
      'ce-type': 'affiliation.checked',
      'ce-source': '/citizen-affiliation',
    });
    expect(new Date(String(p.headers?.['ce-time'])).getTime()).toBeGreaterThan(0);
    // The row is marked sent once the confirm is back, which may be after the delivery above.
    const metrics = async () => (await app.inject('/metrics')).body;
    await eventually(async () => /outbox_pending_events 0\n/.test(await metrics()));
    expect(await metrics()).toMatch(
      /events_published_total\{routing_key="affiliation.checked"\} [1-9]/,
    );
  });

  it('publishes as soon as a decision commits, not at its next poll', async () => {
    const exchange = testExchange();
    // A ten-minute poll: only the wake-up on commit can deliver these in time.
    const app = await start({ AMQP_EXCHANGE: exchange }, { pollMs: 600_000 });
    const received = await broker.bind(exchange, 'affiliation.checked');
    await eventually(() => app.broker?.isConnected() === true);
    const token = await tokenFor(app);
    // Whether the first event is published by the first drain or by a wake-up, the relay sleeps
    // for its ten minutes once it has: each event after that needs a wake-up on commit.
    const first = await check(app, token, citizenId('eligible'));
    await eventually(() => received.some((r) => r.body.check_id === first.json().check_id), 5000);
    for (let i = 0; i < 3; i++) {
      const res = await check(app, token, citizenId('eligible'));
      await eventually(() => received.some((r) => r.body.check_id === res.json().check_id), 5000);
    }
    // Stopped mid-batch (a commit just woke it), it stops rather than sleeping its ten minutes.
    await check(app, token, citizenId('eligible'));
    const stopped = app.relay?.stop().then(() => 'stopped');
    const hung = new Promise((r) => setTimeout(() => r('still sleeping'), 10_000).unref());
    expect(await Promise.race([stopped, hung])).toBe('stopped');
  });

  it('keeps events no queue is bound to in the unrouted holding queue', async () => {
    const exchange = testExchange();
    const app = await start({ AMQP_EXCHANGE: exchange });
    await app.broker?.channel.waitForConnect(); // the topology is declared by then
    const kept = await broker.collect(topology(exchange).unroutedQueue);
    const res = await check(app, await tokenFor(app), citizenId('eligible'));
    await eventually(() => kept.some((k) => k.body.check_id === res.json().check_id));
  });

  it('loses no event while the broker is cut: 200 checks answered 200, then all 200 events, once each', async () => {
    if (!amqpUrl) return;
    const exchange = testExchange();
    const proxy = await TcpProxy.forUrl(amqpUrl).start();
    try {
      const app = await start({ AMQP_EXCHANGE: exchange, AMQP_URL: proxy.urlFor(amqpUrl) });
      const received = await broker.bind(exchange, 'affiliation.checked');
      await eventually(() => app.broker?.isConnected() === true);
      const token = await tokenFor(app);

      proxy.cut();
      await eventually(async () => (await app.inject('/health/ready')).statusCode === 503);
      const ready = (await app.inject('/health/ready')).json();
      expect(ready.down).toEqual(['rabbitmq']);

      const ids: string[] = [];
      for (let batch = 0; batch < 10; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, () => check(app, token, citizenId('eligible'))),
        );
        for (const a of answers) {
          expect(a.statusCode).toBe(200);
          ids.push(a.json().check_id);
        }
      }
      const metrics = (await app.inject('/metrics')).body;
      const pending = Number(/outbox_pending_events (\d+)/.exec(metrics)?.[1]);
      expect(pending).toBeGreaterThanOrEqual(200);
      expect(
        Number(/outbox_oldest_pending_age_seconds ([\d.e+-]+)/.exec(metrics)?.[1]),
      ).toBeGreaterThan(0);
      expect(received).toHaveLength(0);

      await proxy.restore();
      await eventually(() => received.length >= 200, 30_000);
      // Nothing left to publish, and RabbitMQ confirmed each event once (a repeat is a publish).
      await eventually(async () => (await pendingOf(app)) === 0);
      expect(await publishedBy(app)).toBe(200);
      const got = received.map((r) => String(r.body.check_id));
      expect(new Set(got).size).toBe(got.length);
      expect(new Set(got)).toEqual(new Set(ids));
      expect((await app.inject('/health/ready')).statusCode).toBe(200);
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  it('Postgres cut under traffic: 503 in bounded time, recovery by itself, every 200 audited and announced', async () => {
    const exchange = testExchange();
    const proxy = await TcpProxy.forUrl(db.url).start();
    try {
      const app = await start({ AMQP_EXCHANGE: exchange, DATABASE_URL: proxy.urlFor(db.url) });
      const received = await broker.bind(exchange, 'affiliation.checked');
      const token = await tokenFor(app);
      const ok: string[] = [];
      const other = new Map<number, number>();
      let slowest = 0;
      let running = true;
      const clients = Array.from({ length: 10 }, async () => {
        while (running) {
          const started = Date.now();
          const res = await check(app, token, citizenId('eligible'));
          slowest = Math.max(slowest, Date.now() - started);
          if (res.statusCode === 200) ok.push(res.json().check_id);
          else {
            other.set(res.statusCode, (other.get(res.statusCode) ?? 0) + 1);
            expectProblem(res);
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      });
      await eventually(() => ok.length >= 30);
      proxy.cut();
      await eventually(async () => (await app.inject('/health/ready')).statusCode === 503);
      // The clients feel the outage for a while before it ends.
      await eventually(() => [...other.values()].reduce((a, b) => a + b, 0) >= 20);
      await proxy.restore();
      await eventually(async () => (await app.inject('/health/ready')).statusCode === 200);
      const atRestore = ok.length;
      await eventually(() => ok.length >= atRestore + 30); // recovered by itself
      running = false;
      await Promise.all(clients);

      expect([...other.keys()]).toEqual([503]);
      expect(slowest).toBeLessThan(10_000); // no hang
      const rows = (await app.db.execute(
        sql`select id::text from affiliation_checks where status <> 'ERROR'`,
      )) as unknown as { id: string }[];
      const audited = new Set(rows.map((r) => r.id));
      expect(ok.filter((id) => !audited.has(id))).toEqual([]);
      await eventually(() => {
        const arrived = new Set(received.map((r) => String(r.body.check_id)));
        return ok.every((id) => arrived.has(id));
      }, 30_000);
    } finally {
      await proxy.stop();
    }
  }, 90_000);

  it('keeps an event the broker returned, records why, and publishes it once it can', async () => {
    const exchange = testExchange();
    const t = topology(exchange);
    const app = await start({ AMQP_EXCHANGE: exchange });
    await app.broker?.channel.waitForConnect(); // the topology is declared by then
    // Without its alternate exchange, an event no queue is bound to comes back (mandatory).
    await broker.channel.deleteExchange(t.unroutedExchange);
    const res = await check(app, await tokenFor(app), citizenId('eligible'));
    const checkId = res.json().check_id;
    await eventually(async () => ((await outboxRow(app, checkId))?.attempts ?? 0) >= 1);
    const row = await outboxRow(app, checkId);
    expect(row?.sent_at).toBeNull();
    expect(row?.last_error).toMatch(/unroutable/);
    expect((await app.inject('/metrics')).body).toMatch(
      /events_returned_total\{routing_key="affiliation.checked"\} [1-9]/,
    );

    // A consumer appears (bind re-declares the exchange with its alternate): the retry delivers.
    await broker.channel.assertExchange(t.unroutedExchange, 'fanout', { durable: true });
    const received = await broker.bind(exchange, 'affiliation.checked');
    await eventually(() => received.some((r) => r.body.check_id === checkId), 40_000);
    await eventually(async () => (await outboxRow(app, checkId))?.sent_at != null);
  }, 60_000);

  it('a relay stopped and started again listens once: a returned event counts once per attempt', async () => {
    const exchange = testExchange();
    const t = topology(exchange);
    const app = await start({ AMQP_EXCHANGE: exchange });
    const relay = app.relay;
    const amqp = app.broker;
    if (!relay || !amqp) throw new Error('the app has no relay');
    await eventually(() => amqp.isConnected());
    const connectListeners = amqp.connection.listenerCount('connect');
    await relay.stop();
    relay.start();
    expect(amqp.connection.listenerCount('connect')).toBe(connectListeners);
    await amqp.channel.waitForConnect(); // the topology is declared by then
    await broker.channel.deleteExchange(t.unroutedExchange);
    const res = await check(app, await tokenFor(app), citizenId('eligible'));
    const checkId = res.json().check_id;
    await eventually(async () => ((await outboxRow(app, checkId))?.attempts ?? 0) >= 1);
    await relay.stop(); // no attempt in flight while the two are read
    const row = await outboxRow(app, checkId);
    const metrics = (await app.inject('/metrics')).body;
    const returned = /events_returned_total\{routing_key="affiliation.checked"\} (\d+)/.exec(
      metrics,
    );
    expect(Number(returned?.[1])).toBe(row?.attempts);
    // Leave nothing pending: the next test's relays would publish it into their exchange.
    await broker.channel.assertExchange(t.unroutedExchange, 'fanout', { durable: true });
    await broker.bind(exchange, 'affiliation.checked');
    relay.start();
    await eventually(async () => (await outboxRow(app, checkId))?.sent_at != null, 40_000);
  }, 60_000);

  it('shuts down in bounded time when RabbitMQ goes away during the shutdown', async () => {
    if (!amqpUrl) return;
    const proxy = await TcpProxy.forUrl(amqpUrl).start();
    const app = await start({ AMQP_EXCHANGE: testExchange(), AMQP_URL: proxy.urlFor(amqpUrl) });
    await eventually(() => app.broker?.isConnected() === true);
    await proxy.stop(); // the socket is dropped; the client has not noticed yet
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('two instances relaying from one database publish each event exactly once', async () => {
    const exchange = testExchange();
    const a = await start({ AMQP_EXCHANGE: exchange }, { batchSize: 5 });
    const b = await start({ AMQP_EXCHANGE: exchange }, { batchSize: 5 });
    const received = await broker.bind(exchange, 'affiliation.checked');
    const [ta, tb] = [await tokenFor(a), await tokenFor(b)];
    const ids: string[] = [];
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        i % 2 ? check(a, ta, citizenId('eligible')) : check(b, tb, citizenId('affiliated')),
      ),
    );
    for (const res of answers) ids.push(res.json().check_id);
    await eventually(() => received.length >= 120, 30_000);
    // Nothing left to publish; RabbitMQ confirmed each event once (a repeat is a publish):
    // SKIP LOCKED, whichever relay claimed a row published it.
    await eventually(async () => (await pendingOf(a)) === 0);
    expect((await publishedBy(a)) + (await publishedBy(b))).toBe(120);
    const got = received.map((r) => String(r.body.check_id));
    expect(got).toHaveLength(120);
    expect(new Set(got)).toEqual(new Set(ids));
  }, 60_000);
});
