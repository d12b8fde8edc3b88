import { randomUUID } from 'node:crypto';
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib';
import { describe, inject } from 'vitest';
import { TUNING } from '../../src/config/tuning.js';
import { documentRequestsQueue } from '../../src/documents/request-consumer.js';
import { topology } from '../../src/messaging/topology.js';

export const amqpUrl = inject('amqpUrl');
const runId = inject('runId');

/** describe() for tests that need Postgres, Redis and RabbitMQ. */
export const withBroker = describe.skipIf(
  !inject('databaseUrl') || !inject('redisUrl') || !amqpUrl,
);

/** A unique exchange name: every queue the service derives from it is unique to the test too. */
export const testExchange = () => `ca_test_${runId}_${randomUUID().slice(0, 8)}`;

export interface Received {
  msg: ConsumeMessage;
  body: Record<string, unknown>;
}

/** A plain amqplib connection the test uses to bind queues, read and send, then clean up. */
export class TestBroker {
  private readonly queues = new Set<string>();
  private readonly exchanges = new Set<string>();

  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: Channel,
  ) {}

  /** A connection to `url`: this run's RabbitMQ, or its own vhost (`inject('amqpVhostUrl')`). */
  static async open(url: string | null = amqpUrl): Promise<TestBroker> {
    if (!url) throw new Error('no RabbitMQ');
    const connection = await connect(url);
    return new TestBroker(connection, await connection.createChannel());
  }

  /**
   * Remembers what the service creates on this exchange (and a worker with these retry delays),
   * so close() deletes it.
   */
  track(exchange: string, retryDelaysMs: readonly number[] = TUNING.worker.retryDelaysMs): void {
    const t = topology(exchange);
    const w = documentRequestsQueue(exchange, retryDelaysMs);
    this.exchanges.add(t.exchange).add(t.unroutedExchange).add(t.deadLetterExchange);
    for (const q of [t.unroutedQueue, w.queue, w.deadLetterQueue]) this.queues.add(q);
    for (const r of w.retryQueues) this.queues.add(r.queue);
  }

  /** Does `queue` exist yet? (Asked on a channel of its own: a 404 closes the channel.) */
  async queueExists(queue: string): Promise<boolean> {
    const probe = await this.connection.createChannel();
    probe.on('error', () => {});
    try {
      await probe.checkQueue(queue);
      await probe.close();
      return true;
    } catch {
      return false;
    }
  }

  /** A queue bound to the exchange with a routing key, collecting what arrives. */
  async bind(exchange: string, key: string): Promise<Received[]> {
    const queue = `${exchange}.test.${randomUUID().slice(0, 8)}`;
    this.queues.add(queue);
    await this.channel.assertExchange(exchange, 'topic', {
      durable: true,
      alternateExchange: topology(exchange).unroutedExchange,
    });
    await this.channel.assertQueue(queue, { durable: false, autoDelete: false });
    await this.channel.bindQueue(queue, exchange, key);
    return this.collect(queue);
  }

  async collect(queue: string): Promise<Received[]> {
    this.queues.add(queue);
    const received: Received[] = [];
    await this.channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(msg.content.toString());
        } catch {
          body = { raw: msg.content.toString() };
        }
        received.push({ msg, body });
      },
      { noAck: true },
    );
    return received;
  }

  async close(): Promise<void> {
    for (const q of this.queues) await this.channel.deleteQueue(q).catch(() => {});
    for (const x of this.exchanges) await this.channel.deleteExchange(x).catch(() => {});
    await this.connection.close().catch(() => {});
  }
}
