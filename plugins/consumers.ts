import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import {
  DocumentRequestConsumer,
  documentRequestsQueue,
} from '../src/documents/request-consumer.js';
import { consumedCounter, queueDepthGauge } from '../src/messaging/metrics.js';
import { declareWorkQueue } from '../src/messaging/topology.js';

declare module 'fastify' {
  interface FastifyInstance {
    consumer: DocumentRequestConsumer;
  }
}

/**
 * The worker's consumers: `document.authentication.requested` from its work queue (with its
 * dead-letter and delay queues, declared at every connect), and the depth of the queues an
 * operator watches.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const broker = app.broker;
    if (!broker) throw new Error('The worker needs AMQP_URL (it consumes from RabbitMQ)');
    const requests = documentRequestsQueue(config.AMQP_EXCHANGE, tuning.worker.retryDelaysMs);
    // Prefetch is set here, awaited, rather than as consume()'s `prefetch` option:
    // amqp-connection-manager 5 sends that one without awaiting it, so a channel closing at that
    // moment (a SIGTERM right after start) left an unhandled rejection and the worker exited 1.
    await broker.channel.addSetup(async (channel: Parameters<typeof declareWorkQueue>[0]) => {
      await declareWorkQueue(channel, app.topology, requests);
      await channel.prefetch(config.WORKER_PREFETCH);
    });
    const consumer = new DocumentRequestConsumer({
      broker,
      queue: requests,
      hub: app.hub,
      documents: app.documents,
      log: app.log.child({ component: 'consumer' }),
      consumed: consumedCounter(app.registry),
      requeueDelayMs: tuning.worker.requeueDelayMs,
    });
    queueDepthGauge(app.registry, broker, [
      requests.deadLetterQueue,
      app.topology.unroutedQueue,
      requests.queue,
    ]);
    app.addHook('onReady', async () => consumer.start());
    app.addHook('onClose', async () => consumer.stop());
    app.decorate('consumer', consumer);
  },
  { name: 'consumers', dependencies: ['messaging', 'hub', 'services'] },
);
