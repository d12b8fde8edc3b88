import { randomBytes } from 'node:crypto';
import { expect, inject, it, onTestFinished } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { hashPassword } from '../../src/auth/passwords.js';
import { insertUser } from '../../src/auth/users.repository.js';
import { authenticationRequested } from '../../src/documents/events.js';
import { amqpUrl, type Received, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { detached, OtlpReceiver, type ReceivedSpan, SPAN_KIND } from '../helpers/otlp-receiver.js';
import { freePort, type Running, runScript } from '../helpers/process.js';
import { eventually } from '../helpers/wait.js';

/**
 * Tracing end to end: the API and the worker as processes, exporting to an in-test OTLP receiver.
 * One trace runs from the caller's `traceparent` through the route, the hub call, the database
 * write, the relay's publish and (for a queued request) the worker's consume, its hub call and
 * the completion event, and the event's message carries that trace on to whoever consumes it.
 */
const PASSWORD = 'tracing-test-password';
const traceId = () => randomBytes(16).toString('hex');
const spanId = () => randomBytes(8).toString('hex');
const traceIdOf = (msg: Received) =>
  String(msg.msg.properties.headers?.traceparent ?? '').split('-')[1];

withBroker('tracing: one connected trace per request, across processes', () => {
  const setup = async () => {
    const db = await freshDatabase();
    const broker = await TestBroker.open();
    const hub = await startHub();
    const receiver = await OtlpReceiver.start();
    const exchange = testExchange();
    broker.track(exchange);
    const database = await createDatabase({ databaseUrl: db.url, dataDir: 'unused' });
    await insertUser(database.db, {
      username: 'tracer',
      passwordHash: await hashPassword(PASSWORD, { N: 2 ** 10, r: 8, p: 1 }),
      roles: ['service'],
    });
    await database.close();
    const env = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      REDIS_URL: inject('redisUrl') as string,
      REDIS_KEY_PREFIX: `ca:test:${exchange}:`,
      AMQP_URL: amqpUrl as string,
      AMQP_EXCHANGE: exchange,
      GOVCARPETA_URL: hub.url,
      JWT_SECRET: randomBytes(48).toString('base64url'),
      SECURITY_LOG_KEY: randomBytes(48).toString('base64url'),
      CHECK_CACHE_TTL_SECONDS: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    };
    const procs: Running[] = [];
    onTestFinished(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await receiver.close();
      await broker.close();
      await hub.close();
      await db.drop();
    });
    const start = async (script: string) => {
      const port = await freePort();
      const run = runScript(script, [], { ...env, PORT: String(port) });
      procs.push(run);
      await run.waitFor(/Server listening/);
      return { run, base: `http://127.0.0.1:${port}` };
    };
    return { broker, receiver, exchange, start };
  };

  /** Every span of the trace has its parent in it (or is the caller's child); none leaks. */
  const expectConnected = (spans: ReceivedSpan[], root: string, secrets: string[]) => {
    expect(detached(spans, root).map((s) => s.name)).toEqual([]);
    const values = spans.flatMap((s) => Object.values(s.attributes).map(String));
    for (const secret of secrets) {
      expect(values.filter((v) => v.includes(secret))).toEqual([]);
      expect(spans.filter((s) => s.name.includes(secret))).toEqual([]);
    }
  };

  it('an affiliation check: request, hub call, database write, publish, and the event', async () => {
    const { broker, receiver, exchange, start } = await setup();
    const { run, base } = await start('src/server.ts');
    const checked = await broker.bind(exchange, 'affiliation.checked');
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'tracer', password: PASSWORD }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;

    const trace = traceId();
    const caller = spanId();
    const citizen = citizenId('eligible');
    const res = await fetch(`${base}/api/v1/affiliation/check`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        traceparent: `00-${trace}-${caller}-01`,
        'x-request-id': 'traced-check-1',
      },
      body: JSON.stringify({ citizen_id: citizen }),
    });
    expect(res.status).toBe(200);

    // The event continues the request's trace: its consumers join it.
    await eventually(() => checked.length === 1);
    expect(traceIdOf(checked[0] as Received)).toBe(trace);

    const kinds = () => receiver.trace(trace).map((s) => s.kind);
    await eventually(() => kinds().includes(SPAN_KIND.producer), 10_000);
    const spans = receiver.trace(trace);
    const server = spans.find((s) => s.kind === SPAN_KIND.server);
    expect(server?.parentSpanId).toBe(caller);
    expect(server?.name).toBe('POST /api/v1/affiliation/check');
    const hubCall = spans.find(
      (s) => s.kind === SPAN_KIND.client && String(s.attributes['url.full']).startsWith('http'),
    );
    expect(hubCall?.attributes['url.full']).toMatch(/\/apis\/validateCitizen\/:digits$/);
    expect(spans.map((s) => s.name)).toEqual(
      expect.arrayContaining(['INSERT affiliation_checks, outbox', `publish ${exchange}`]),
    );
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['citizen-affiliation']));
    expectConnected(spans, caller, [citizen, token]);

    // A citizen id in the path or the query string never reaches a span.
    const lookups = traceId();
    for (const path of [`/citizens/${citizen}`, `/affiliation/checks?citizen_id=${citizen}`]) {
      await fetch(`${base}/api/v1${path}`, {
        headers: { authorization: `Bearer ${token}`, traceparent: `00-${lookups}-${caller}-01` },
      });
    }
    const servers = () => receiver.trace(lookups).filter((s) => s.kind === SPAN_KIND.server);
    await eventually(() => servers().length === 2, 10_000);
    expect(
      servers()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['GET /api/v1/affiliation/checks', 'GET /api/v1/citizens/:citizen_id']);
    expectConnected(receiver.trace(lookups), caller, [citizen, token]);

    // Its log line carries the trace id, with the request id it is found by.
    const line = await run.waitFor(/.*"request_id":"traced-check-1".*"request completed".*/);
    expect(line[0]).toContain(`"trace_id":"${trace}"`);
  });

  it('a queued document request: the worker consumes, asks the hub, and completes in the trace', async () => {
    const { broker, receiver, exchange, start } = await setup();
    await start('src/worker.ts');
    const completed = await broker.bind(exchange, 'document.authentication.completed');
    const trace = traceId();
    const sender = spanId();
    const citizen = citizenId('eligible');
    const url = 'https://docs.example.org/d.pdf?X-Amz-Signature=secret-signature';
    const request = {
      messageId: `msg-${exchange}`,
      documentId: 'doc-1',
      idCitizen: Number(citizen),
      urlDocument: url,
      documentTitle: 'Diploma',
    };
    // The worker declares its queue and bindings once connected: until a completion arrives, the
    // request is sent again every half second (its inbox makes a second delivery a no-op).
    let sentAt = 0;
    await eventually(() => {
      if (completed.length > 0) return true;
      if (Date.now() - sentAt > 500) {
        sentAt = Date.now();
        broker.channel.publish(
          exchange,
          authenticationRequested.routingKey,
          Buffer.from(JSON.stringify(request)),
          {
            persistent: true,
            contentType: 'application/json',
            headers: { traceparent: `00-${trace}-${sender}-01` },
          },
        );
      }
      return false;
    }, 20_000);
    expect(traceIdOf(completed[0] as Received)).toBe(trace);

    const names = () => receiver.trace(trace).map((s) => s.name);
    await eventually(() => names().includes(`publish ${exchange}`), 10_000);
    const spans = receiver.trace(trace);
    const consume = spans.find((s) => s.kind === SPAN_KIND.consumer);
    expect(consume?.parentSpanId).toBe(sender);
    expect(consume?.name).toBe(`process ${exchange}.document-authentication`);
    expect(spans.map((s) => s.name)).toEqual(
      expect.arrayContaining([
        'INSERT inbox, document_authentications, outbox',
        `publish ${exchange}`,
      ]),
    );
    expect(
      spans.some((s) => String(s.attributes['url.full']).endsWith('/apis/authenticateDocument')),
    ).toBe(true);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['citizen-affiliation-worker']));
    expectConnected(spans, sender, [citizen, url, 'secret-signature']);
    expect(receiver.bodies.join('\n')).not.toContain('secret-signature');
  });
});
