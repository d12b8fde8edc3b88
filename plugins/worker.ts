import fp from 'fastify-plugin';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../src/config.js';
import { DocumentService } from '../src/documents/service.js';
import { type Broker, connectBroker } from '../src/events/broker.js';
import { eventMetrics } from '../src/events/metrics.js';
import { Outbox } from '../src/events/outbox.js';
import { relayFromConfig } from '../src/events/relay.js';
import { declareWorkerQueues, topology } from '../src/events/topology.js';
import { createHub } from '../src/hub/index.js';
import { MemoryStore } from '../src/stores/memory-store.js';
import { DocumentRequestConsumer } from '../src/worker/consumer.js';

declare module 'fastify' {
  interface FastifyInstance {
    consumer: DocumentRequestConsumer;
  }
}

/**
 * The worker's whole job, as a plugin of its small Fastify app (which serves only health and
 * metrics): RabbitMQ with the worker's queues, the request consumer, and an outbox relay for the
 * `completed` events it writes.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (!config.AMQP_URL) throw new Error('The worker needs AMQP_URL (it consumes from RabbitMQ)');
    const registry = app.appMetrics.registry;
    const names = topology(config.AMQP_EXCHANGE, config.WORKER_RETRY_DELAYS_MS);
    const broker = connectBroker(config.AMQP_URL, {
      name: 'citizen-affiliation-worker',
      log: app.log.child({ component: 'amqp' }),
      setup: async (channel) => {
        await declareWorkerQueues(channel, names);
        // Set here, awaited, rather than as consume()'s `prefetch` option: amqp-connection-manager
        // 5 sends that one without awaiting it, so a channel closing at that moment (a SIGTERM
        // right after start) left an unhandled rejection and the worker exited 1.
        await channel.prefetch(config.WORKER_PREFETCH);
      },
      publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
    });
    // The worker never checks citizens: the answer cache stays unused, so memory is enough.
    const store = new MemoryStore(1000);
    const hub = await createHub(config, { registry, store, log: app.log });
    const outbox = new Outbox(app.db);
    const documents = new DocumentService(
      app.db,
      outbox,
      hub.gateway,
      app.appMetrics.authentications,
    );
    const consumer = new DocumentRequestConsumer({
      broker,
      topology: names,
      hub: hub.gateway,
      documents,
      log: app.log.child({ component: 'consumer' }),
      consumed: new Counter({
        name: 'consumer_messages_total',
        help: 'Request messages handled, by outcome (completed, gave_up, duplicate, retried, malformed, failed).',
        labelNames: ['outcome'],
        registers: [registry],
      }),
    });
    const relay = relayFromConfig(config, {
      database: app.database,
      outbox,
      broker,
      log: app.log.child({ component: 'outbox-relay' }),
      metrics: eventMetrics(registry, app.db),
    });
    queueDepthGauge(registry, broker, [
      names.deadLetterQueue,
      names.unroutedQueue,
      names.requestsQueue,
    ]);
    app.addHook('onReady', async () => {
      relay.start();
      await consumer.start();
    });
    app.addHook('onClose', async () => {
      await consumer.stop();
      await relay.stop();
      await broker.close();
      await hub.close();
      store.close();
    });
    app.decorate('redis', null);
    app.decorate('broker', broker);
    app.decorate('relay', relay);
    app.decorate('consumer', consumer);
  },
  { name: 'worker', dependencies: ['db', 'metrics'] },
);

/** Depth of the queues an operator must watch, read from the broker at each scrape. */
function queueDepthGauge(registry: Registry, broker: Broker, queues: string[]): void {
  new Gauge({
    name: 'amqp_queue_messages',
    help: 'Messages ready in a queue of this service (dead letters, unrouted events, requests), read at scrape time by the worker.',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      if (!broker.isConnected()) return;
      for (const queue of queues) {
        const depth = await Promise.race([
          broker.channel.checkQueue(queue).then((q) => q.messageCount),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000).unref()),
        ]).catch(() => undefined);
        if (depth !== undefined) this.set({ queue }, depth);
      }
    },
  });
}
