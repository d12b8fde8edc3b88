import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildWorker, type Worker } from '../../src/app/worker.js';
import { documentsStoredQueue } from '../../src/transfers/documents-consumer.js';
import { transfers } from '../../src/transfers/transfers.table.js';
import { type Received, TestBroker, testExchange } from '../helpers/amqp.js';
import { testConfig } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { startPeer } from '../helpers/peer.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;
type Peer = Awaited<ReturnType<typeof startPeer>>;

const vhostUrl = inject('amqpTransfersVhostUrl');
const US = { OPERATOR_ID: 'op-transfers-us', OPERATOR_NAME: 'Operador Receptor' };

/**
 * Incoming transfers through the worker and RabbitMQ: `transfer.citizen.received` reaches the
 * documents service, its `transfer.documents.stored` answer lets the registration go on; and a
 * process that dies after registering resumes without registering twice. The worker consumes
 * the neighbours' fixed queues too, so this file has a vhost of its own.
 */
describe.skipIf(!inject('databaseUrl') || !vhostUrl)(
  'worker: incoming transfers and the documents service',
  () => {
    let hub: Hub;
    let peer: Peer;
    let broker: TestBroker;
    let db: Awaited<ReturnType<typeof freshDatabase>>;
    let worker: Worker;
    let received: Received[];
    const exchange = testExchange();

    /** A citizen of the peer's, unregistered by it (as an origin does), arriving at us. */
    async function arriving() {
      const id = citizenId('eligible');
      const row = await worker.transfers.receive({
        citizenId: id,
        citizenName: 'Luis Gómez',
        citizenEmail: 'luis@example.org',
        documents: [{ title: 'Cedula', url: 'https://files.example.org/cedula.pdf' }],
        confirmUrl: `${peer.baseUrl}/api/transferCitizenConfirm`,
      });
      return { id, transferId: row.transfer.id };
    }
    const stateOf = async (id: string) =>
      (await worker.db.select().from(transfers).where(eq(transfers.id, id)))[0];
    const answer = (body: unknown) =>
      broker.channel.publish(
        exchange,
        'transfer.documents.stored',
        Buffer.from(JSON.stringify(body)),
        {
          persistent: true,
          contentType: 'application/json',
        },
      );

    beforeAll(async () => {
      hub = await startHub();
      peer = await startPeer(hub);
      broker = await TestBroker.open(vhostUrl);
      db = await freshDatabase();
      worker = await buildWorker(
        testConfig({
          DATABASE_URL: db.url,
          AMQP_URL: vhostUrl ?? '',
          AMQP_EXCHANGE: exchange,
          GOVCARPETA_URL: hub.url,
          HUB_TIMEOUT_MS: '500',
          ...US,
          PUBLIC_BASE_URL: 'http://127.0.0.1:9',
          PEER_ALLOWED_HOSTS: peer.hostPort,
        }),
        {
          tuning: {
            hub: { retries: 0, breaker: { minCalls: 1000 } },
            outbox: { pollMs: 50 },
            transfers: { pollMs: 50, retryBaseSeconds: 0.05, retryMaxSeconds: 0.2 },
          },
        },
      );
      await worker.ready();
      await worker.broker?.channel.waitForConnect();
      received = await broker.bind(exchange, 'transfer.citizen.received');
    });
    afterAll(async () => {
      await worker?.close();
      await peer?.app.close();
      await broker?.close();
      await hub?.close();
      await db?.drop();
    });

    it('waits for transfer.documents.stored, then registers the citizen and tells the origin', async () => {
      const { id, transferId } = await arriving();
      await eventually(() => received.some((m) => m.body.transfer_id === transferId));
      const announced = received.find((m) => m.body.transfer_id === transferId);
      expect(announced?.body).toMatchObject({
        idCitizen: Number(id),
        documents: [{ title: 'Cedula', url: 'https://files.example.org/cedula.pdf' }],
      });
      // It waits: nothing registered, nobody told.
      expect((await stateOf(transferId))?.step).toBe('AWAIT_DOCUMENTS');
      expect(hub.registration(id)).toBeNull();

      answer({ transfer_id: transferId, success: true, message: 'stored 1 document' });
      answer({ transfer_id: transferId, success: false, message: 'a repeat: ignored' });
      await eventually(async () => (await stateOf(transferId))?.status === 'COMPLETED');
      expect(hub.registration(id)?.operatorId).toBe(US.OPERATOR_ID);
      expect(peer.confirmations).toContainEqual({ direction: 'in', id, req_status: 1 });
      expect((await stateOf(transferId))?.documentsStored).toEqual({
        success: true,
        message: 'stored 1 document',
      });
    });

    it('a failed storage tells the origin req_status 0 and registers nothing', async () => {
      const { id, transferId } = await arriving();
      await eventually(async () => (await stateOf(transferId))?.step === 'AWAIT_DOCUMENTS');
      answer({
        transfer_id: transferId,
        success: false,
        message: 'a document could not be fetched',
      });
      await eventually(async () => (await stateOf(transferId))?.status === 'FAILED');
      expect((await stateOf(transferId))?.reason).toMatch(/documents service failed/);
      expect(hub.registration(id)).toBeNull();
      await eventually(() => peer.confirmations.some((c) => c.id === id && c.req_status === 0));
    });

    it('a malformed answer is dead-lettered', async () => {
      const dead = await broker.collect(documentsStoredQueue(exchange).deadLetterQueue);
      answer({ transfer_id: 'not-a-uuid', success: 'yes' });
      await eventually(() => dead.length === 1);
    });

    it('killed after registering, before recording it: resumes, registers nothing twice, tells the origin once', async () => {
      await worker.transferRunner?.stop();
      try {
        const { id, transferId } = await arriving();
        answer({ transfer_id: transferId, success: true, message: '' });
        await eventually(async () => (await stateOf(transferId))?.documentsStored !== null);
        const runner = worker.transferRunner as NonNullable<Worker['transferRunner']>;
        const step = async () => {
          await worker.db
            .update(transfers)
            .set({ dueAt: sql`now()` })
            .where(eq(transfers.id, transferId));
          await runner.replica().runOnce();
          return stateOf(transferId);
        };
        expect((await step())?.step).toBe('CHECK_FREE'); // AWAIT_DOCUMENTS done
        expect((await step())?.step).toBe('REGISTER');
        const row = await stateOf(transferId);
        const registrations = () => hub.calls.registerCitizen ?? 0;
        const before = registrations();
        // The dying process: registered at the hub, never recorded the step.
        await runner.replica().runStepUnrecorded(row as NonNullable<typeof row>);
        expect(registrations()).toBe(before + 1);
        expect((await step())?.step).toBe('CALLBACK'); // found the registration: no second call
        expect(registrations()).toBe(before + 1);
        expect((await step())?.status).toBe('COMPLETED');
        expect(peer.confirmations.filter((c) => c.id === id)).toEqual([
          { direction: 'in', id, req_status: 1 },
        ]);
      } finally {
        worker.transferRunner?.start();
      }
    });
  },
);
