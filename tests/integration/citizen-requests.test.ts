import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildWorker, type Worker } from '../../src/app/worker.js';
import { citizenActions } from '../../src/citizens/citizen-actions.table.js';
import { registerCitizenCompleted, unregisterCitizenCompleted } from '../../src/citizens/events.js';
import { CITIZEN_QUEUES } from '../../src/citizens/request-consumer.js';
import { sharedQueue, topology } from '../../src/messaging/topology.js';
import { type Received, TestBroker, testExchange } from '../helpers/amqp.js';
import { testConfig } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { sampleSum } from '../helpers/metrics.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

const vhostUrl = inject('amqpVhostUrl');
const US = { OPERATOR_ID: 'op-requests-us', OPERATOR_NAME: 'Operador de Pruebas' };

/**
 * The neighbours' `register/unregister.citizen.requested` (interop.md §2). Their queue names are
 * fixed wire names, so this file runs in a RabbitMQ vhost of this run's own.
 */
describe.skipIf(!inject('databaseUrl') || !inject('redisUrl') || !vhostUrl)(
  'worker: register/unregister.citizen.requested -> completed',
  () => {
    let hub: Hub;
    let broker: TestBroker;
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let worker: Worker;
    /** Answers as the requester reads them: from the default exchange's queues. */
    const answers: Record<'register' | 'unregister', Received[]> = { register: [], unregister: [] };
    /** And as our exchange announces them. */
    let announced: Received[];
    let deadLetters: Received[];
    const exchange = testExchange();
    const retryDelaysMs = [100, 100];

    const person = (id = citizenId('eligible')) => ({
      id: Number(id),
      name: ' Ana María Pérez ',
      address: 'Calle 10 # 20-30, Bogotá',
      email: 'ana.perez@example.org',
    });
    /** Sends as the affiliation service does: default exchange, routing key = queue name. */
    const send = (queue: string, body: unknown, messageId?: string) =>
      broker.channel.sendToQueue(
        queue,
        Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
        { persistent: true, contentType: 'application/json', messageId },
      );
    const requestRegister = (body: unknown, messageId: string | null = randomUUID()) =>
      send('register.citizen.requested', body, messageId ?? undefined);
    const requestUnregister = (body: unknown, messageId: string | null = randomUUID()) =>
      send('unregister.citizen.requested', body, messageId ?? undefined);
    const answersTo = (kind: 'register' | 'unregister', id: number) =>
      answers[kind].filter((a) => a.body.id === id);
    const consumed = async (outcome: string, queue = 'register.citizen.requested') =>
      sampleSum((await worker.inject('/metrics')).body, 'consumer_messages_total', {
        outcome,
        queue,
      });

    beforeAll(async () => {
      hub = await startHub();
      broker = await TestBroker.open(vhostUrl);
      db = await freshDatabase();
      worker = await buildWorker(
        testConfig({
          DATABASE_URL: db.url,
          AMQP_URL: vhostUrl ?? '',
          AMQP_EXCHANGE: exchange,
          GOVCARPETA_URL: hub.url,
          HUB_TIMEOUT_MS: '300',
          ...US,
        }),
        {
          tuning: {
            hub: { retries: 0, breaker: { minCalls: 1000 } },
            worker: { retryDelaysMs },
            outbox: { pollMs: 50 },
          },
        },
      );
      await worker.ready();
      await worker.broker?.channel.waitForConnect(); // the queues are declared by then
      answers.register = await broker.collect('register.citizen.completed');
      answers.unregister = await broker.collect('unregister.citizen.completed');
      announced = await broker.bind(exchange, '*.citizen.completed');
      deadLetters = await broker.collect(
        sharedQueue(topology(exchange), 'register.citizen.requested', 'register-citizen', [])
          .deadLetterQueue,
      );
    });
    afterAll(async () => {
      await worker?.close();
      await broker?.close();
      await hub?.close();
      await db?.drop();
    });
    beforeEach(() => hub.resetFaults());

    it('declares the shared queues plain and durable, as the affiliation service does', async () => {
      // A second declaration with only `durable` (what the neighbour's code does) must not clash.
      for (const { queue } of Object.values(CITIZEN_QUEUES)) {
        const ok = await broker.channel.assertQueue(queue, { durable: true });
        expect(ok.queue).toBe(queue);
      }
    });

    it('register: one hub call, one answer on the default exchange and one on ours', async () => {
      const before = hub.calls.registerCitizen ?? 0;
      const body = person();
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      const [answer] = answersTo('register', body.id);
      expect(registerCitizenCompleted.schema.parse(answer?.body)).toEqual({
        id: body.id,
        statusCode: 201,
        message: expect.any(String),
      });
      expect(answer?.msg.fields.exchange).toBe('');
      expect(answer?.msg.fields.routingKey).toBe('register.citizen.completed');
      await eventually(() => announced.some((a) => a.body.id === body.id));
      expect(hub.calls.registerCitizen).toBe(before + 1);
      expect(hub.registration(String(body.id))).toEqual({
        operatorId: US.OPERATOR_ID,
        operatorName: US.OPERATOR_NAME,
      });
      const actions = await worker.db
        .select()
        .from(citizenActions)
        .where(eq(citizenActions.citizenId, String(body.id)));
      expect(actions).toHaveLength(1);
      expect(actions[0]).toMatchObject({ channel: 'amqp', outcome: 'REGISTERED' });
    });

    it('a request delivered twice is sent to the hub once and answered once', async () => {
      const before = hub.calls.registerCitizen ?? 0;
      const duplicatesBefore = await consumed('duplicate');
      const body = person();
      const messageId = randomUUID();
      await requestRegister(body, messageId);
      await requestRegister(body, messageId);
      await eventually(async () => (await consumed('duplicate')) > duplicatesBefore);
      // A sentinel answered after both: answers are published in the order they were written,
      // so a second answer to the first would have come before the sentinel's.
      const sentinel = person();
      await requestRegister(sentinel);
      await eventually(() => answersTo('register', sentinel.id).length === 1);
      expect(answersTo('register', body.id)).toHaveLength(1);
      expect(hub.calls.registerCitizen).toBe(before + 2);
    });

    it('a message with no id is one request by its body: twice, still one hub call', async () => {
      const before = hub.calls.registerCitizen ?? 0;
      const body = person();
      await requestRegister(body, null);
      await requestRegister(body, null);
      // The first answer, then a sentinel sent after it: a second answer to the body would be
      // written before the sentinel's (the worker handles the two deliveries concurrently with
      // anything sent meanwhile, so a sentinel sent at once may be answered first).
      await eventually(() => answersTo('register', body.id).length >= 1);
      const sentinel = person();
      await requestRegister(sentinel);
      await eventually(() => answersTo('register', sentinel.id).length === 1);
      expect(answersTo('register', body.id)).toHaveLength(1);
      expect(hub.calls.registerCitizen).toBe(before + 2);
    });

    it('501 when the hub already has the citizen (with another operator)', async () => {
      const body = person(citizenId('affiliated'));
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      expect(answersTo('register', body.id)[0]?.body).toMatchObject({ statusCode: 501 });
    });

    it("refuses another operator's request in the answer, never asking the hub", async () => {
      const before = hub.calls.registerCitizen ?? 0;
      const body = { ...person(), operatorId: 'someone-else', operatorName: 'Otro' };
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      expect(answersTo('register', body.id)[0]?.body).toMatchObject({ statusCode: 403 });
      expect(hub.calls.registerCitizen ?? 0).toBe(before);
      expect(hub.registration(String(body.id))).toBeNull();

      const gone = { id: Number(citizenId('eligible')), operatorId: 'someone-else' };
      const unregisters = hub.calls.unregisterCitizen ?? 0;
      await requestUnregister(gone);
      await eventually(() => answersTo('unregister', gone.id).length === 1);
      expect(answersTo('unregister', gone.id)[0]?.body).toMatchObject({
        id: gone.id,
        operatorId: US.OPERATOR_ID,
        success: false,
      });
      expect(hub.calls.unregisterCitizen ?? 0).toBe(unregisters);
    });

    it('accepts our own operatorId, and a string id', async () => {
      const id = citizenId('eligible');
      await requestRegister({ ...person(id), id, operatorId: US.OPERATOR_ID });
      await eventually(() => answersTo('register', Number(id)).length === 1);
      expect(answersTo('register', Number(id))[0]?.body).toMatchObject({ statusCode: 201 });
    });

    it('sends a malformed message to the dead-letter queue at once, untouched', async () => {
      const before = await consumed('malformed');
      const calls = hub.calls.registerCitizen ?? 0;
      const messageId = randomUUID();
      await requestRegister('{"id": "not a citizen id", "name": ""}', messageId);
      await requestRegister('not json at all');
      await eventually(async () => (await consumed('malformed')) === before + 2);
      await eventually(() => deadLetters.some((d) => d.msg.properties.messageId === messageId));
      const dead = deadLetters.find((d) => d.msg.properties.messageId === messageId);
      expect(dead?.msg.content.toString()).toBe('{"id": "not a citizen id", "name": ""}');
      expect(dead?.msg.properties.headers?.['x-dead-letter-reason']).toBe('malformed');
      expect(hub.calls.registerCitizen ?? 0).toBe(calls);
    });

    it('retries through the delay queues while the hub is down, and completes once it is back', async () => {
      const retried = await consumed('retried');
      hub.setFaults({ failureRate: 1, failureStatus: 503 }, 'registerCitizen');
      const body = person();
      await requestRegister(body);
      await eventually(async () => (await consumed('retried')) > retried);
      hub.resetFaults();
      await eventually(() => answersTo('register', body.id).length === 1);
      expect(answersTo('register', body.id)[0]?.body).toMatchObject({ statusCode: 201 });
    });

    it('answers 503 when the hub stays down through the retry budget', async () => {
      const gaveUp = await consumed('gave_up');
      hub.setFaults({ failureRate: 1, failureStatus: 500 });
      const body = person();
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      expect(answersTo('register', body.id)[0]?.body).toMatchObject({ statusCode: 503 });
      expect(await consumed('gave_up')).toBe(gaveUp + 1);
      hub.resetFaults();
      expect(hub.registration(String(body.id))).toBeNull();
    });

    it('settles a registration whose answer was lost, and does not register twice', async () => {
      // The hub registers, then the connection drops: the retry asks validateCitizen first.
      hub.setFaults({ dropRate: 1, strike: 'after', times: 1 }, 'registerCitizen');
      const before = hub.calls.registerCitizen ?? 0;
      const body = person();
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      expect(answersTo('register', body.id)[0]?.body).toMatchObject({ statusCode: 201 });
      expect(hub.calls.registerCitizen).toBe(before + 1);
    });

    it('unregister: {id, operatorId, success, message}, also when the hub did not have them', async () => {
      const body = person();
      await requestRegister(body);
      await eventually(() => answersTo('register', body.id).length === 1);
      await requestUnregister({ id: body.id, operatorId: US.OPERATOR_ID });
      await eventually(() => answersTo('unregister', body.id).length === 1);
      expect(
        unregisterCitizenCompleted.schema.parse(answersTo('unregister', body.id)[0]?.body),
      ).toEqual({
        id: body.id,
        operatorId: US.OPERATOR_ID,
        success: true,
        message: expect.any(String),
      });
      expect(hub.registration(String(body.id))).toBeNull();

      const never = Number(citizenId('eligible'));
      await requestUnregister({ id: never });
      await eventually(() => answersTo('unregister', never).length === 1);
      expect(answersTo('unregister', never)[0]?.body).toMatchObject({ success: true });
    });

    it('answers unregister with success false when the hub stays down', async () => {
      // Every endpoint: with validateCitizen up, an unregistration that failed is settled (the
      // citizen is not with us: done), which is the case above.
      hub.setFaults({ failureRate: 1, failureStatus: 500 });
      const id = Number(citizenId('eligible'));
      await requestUnregister({ id });
      await eventually(() => answersTo('unregister', id).length === 1);
      expect(answersTo('unregister', id)[0]?.body).toMatchObject({ success: false });
      expect(await consumed('gave_up', 'unregister.citizen.requested')).toBeGreaterThanOrEqual(1);
    });
  },
);
