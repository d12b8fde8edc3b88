import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { buildWorker, type Worker } from '../../src/app/worker.js';
import { documentAuthentications } from '../../src/documents/authentications.table.js';
import { authenticationCompleted, authenticationRequested } from '../../src/documents/events.js';
import { documentRequestsQueue } from '../../src/documents/request-consumer.js';
import { amqpUrl, type Received, TestBroker, testExchange, withBroker } from '../helpers/amqp.js';
import { testConfig } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { sampleSum } from '../helpers/metrics.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

withBroker('worker: document.authentication.requested -> completed', () => {
  let hub: Hub;
  let broker: TestBroker;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let worker: Worker;
  let completed: Received[];
  let deadLetters: Received[];
  const exchange = testExchange();
  const retryDelaysMs = [150, 150];
  const requests = documentRequestsQueue(exchange, retryDelaysMs);
  let n = 0;

  const request = (overrides: Record<string, unknown> = {}) => ({
    messageId: `msg-${exchange}-${++n}`,
    documentId: `doc-${n}`,
    idCitizen: Number(citizenId('eligible')),
    urlDocument: `https://docs.example.org/${n}.pdf?X-Amz-Signature=secret${n}`,
    documentTitle: 'Diploma',
    ...overrides,
  });
  const send = (body: unknown, raw?: string) =>
    broker.channel.publish(
      exchange,
      authenticationRequested.routingKey,
      Buffer.from(raw ?? JSON.stringify(body)),
      {
        persistent: true,
        contentType: 'application/json',
      },
    );
  const completionsOf = (messageId: string) =>
    completed.filter((c) => c.body.messageId === messageId);
  const consumedMetric = async (outcome: string) =>
    sampleSum((await worker.inject('/metrics')).body, 'consumer_messages_total', {
      outcome,
      queue: requests.queue,
    });

  beforeAll(async () => {
    hub = await startHub();
    broker = await TestBroker.open();
    broker.track(exchange, retryDelaysMs);
    db = await freshDatabase();
    worker = await buildWorker(
      testConfig({
        DATABASE_URL: db.url,
        AMQP_URL: amqpUrl ?? '',
        AMQP_EXCHANGE: exchange,
        GOVCARPETA_URL: hub.url,
        HUB_TIMEOUT_MS: '300',
      }),
      {
        tuning: {
          hub: { breaker: { minCalls: 1000 } },
          worker: { retryDelaysMs },
          outbox: { pollMs: 100 },
        },
      },
    );
    await worker.ready();
    await worker.broker?.channel.waitForConnect(); // the queues are declared by then
    completed = await broker.bind(exchange, 'document.authentication.completed');
    deadLetters = await broker.collect(requests.deadLetterQueue);
  });
  afterAll(async () => {
    await worker?.close();
    await broker?.close();
    await hub?.close();
    await db?.drop();
  });
  beforeEach(() => hub.resetFaults());

  it('turns a valid request into exactly one completed event and a stored result', async () => {
    const req = request({ idCitizen: '1234567890' });
    await send(req);
    await eventually(() => completionsOf(req.messageId).length === 1);
    const [event] = completionsOf(req.messageId);
    expect(authenticationCompleted.schema.parse(event?.body)).toMatchObject({
      messageId: req.messageId,
      documentId: req.documentId,
      idCitizen: '1234567890',
      authenticated: true,
    });
    expect(event?.msg.properties.type).toBe('document.authentication.completed');
    const rows = await worker.db
      .select()
      .from(documentAuthentications)
      .where(eq(documentAuthentications.messageId, req.messageId));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ channel: 'amqp', status: 'VERIFIED', authenticated: true });
    expect(JSON.stringify(rows[0])).not.toContain('X-Amz-Signature');
  });

  it('accepts the hub spelling UrlDocument, and reports a rejected document as not authenticated', async () => {
    const { urlDocument: _, ...rest } = request();
    const req = { ...rest, UrlDocument: 'https://docs.example.org/forged.pdf' };
    await send(req);
    await eventually(() => completionsOf(req.messageId).length === 1);
    expect(completionsOf(req.messageId)[0]?.body).toMatchObject({ authenticated: false });
  });

  it('calls the hub once for a message delivered twice, and publishes one completion', async () => {
    const before = hub.calls.authenticateDocument ?? 0;
    const req = request();
    await send(req);
    await send(req);
    await eventually(async () => (await consumedMetric('duplicate')) >= 1);
    await eventually(() => completionsOf(req.messageId).length === 1);
    // A sentinel handled after both: the relay publishes completions in the order they were
    // written, so a second completion of the first request would have come before this one.
    const sentinel = request();
    await send(sentinel);
    await eventually(() => completionsOf(sentinel.messageId).length === 1);
    expect(completionsOf(req.messageId)).toHaveLength(1);
    expect(hub.calls.authenticateDocument).toBe(before + 2); // the request once, the sentinel once
  });

  it('retries through the delay queues while the hub is down, and completes once it is back', async () => {
    hub.setFaults({ failureRate: 1 });
    const retriedBefore = await consumedMetric('retried');
    const req = request();
    await send(req);
    await eventually(async () => (await consumedMetric('retried')) > retriedBefore);
    hub.resetFaults();
    await eventually(() => completionsOf(req.messageId).length === 1);
    expect(completionsOf(req.messageId)[0]?.body.authenticated).toBe(true);
  });

  it('completes as not authenticated, saying why, when the outage outlasts the retry budget', async () => {
    hub.setFaults({ failureRate: 1, failureStatus: 503 });
    const req = request();
    await send(req);
    await eventually(() => completionsOf(req.messageId).length === 1, 10_000);
    const body = completionsOf(req.messageId)[0]?.body;
    expect(body).toMatchObject({ authenticated: false });
    expect(body?.message).toMatch(/answered 503 after 3 attempts/);
    const [row] = await worker.db
      .select()
      .from(documentAuthentications)
      .where(eq(documentAuthentications.messageId, req.messageId));
    expect(row).toMatchObject({ status: 'ERROR', authenticated: false });
  });

  it('sends malformed messages to the dead-letter queue at once and keeps going', async () => {
    const before = deadLetters.length;
    await send(undefined, '{not json');
    await send({ messageId: 'm-1', documentTitle: 'no citizen, no url' });
    await send(request({ urlDocument: 'javascript:alert(1)' }));
    await eventually(() => deadLetters.length === before + 3);
    const req = request();
    await send(req);
    await eventually(() => completionsOf(req.messageId).length === 1);
    expect(await consumedMetric('malformed')).toBe(3);
    const ready = await worker.inject('/health/ready');
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { postgres: 'up', rabbitmq: 'up' },
    });
  });
});
