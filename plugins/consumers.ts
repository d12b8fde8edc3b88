import fp from 'fastify-plugin';
import {
  CITIZEN_QUEUES,
  CitizenRequestConsumer,
  type CitizenRequestKind,
} from '../src/citizens/request-consumer.js';
import { missingIdentity } from '../src/config/env.js';
import type { Settings } from '../src/config/settings.js';
import {
  DocumentRequestConsumer,
  documentRequestsQueue,
} from '../src/documents/request-consumer.js';
import type { RequestConsumer } from '../src/messaging/consume.js';
import { consumedCounter, queueDepthGauge } from '../src/messaging/metrics.js';
import {
  declareExchanges,
  declareSharedQueue,
  declareWorkQueue,
  type SharedQueue,
  sharedQueue,
} from '../src/messaging/topology.js';
import {
  DocumentsStoredConsumer,
  documentsStoredQueue,
} from '../src/transfers/documents-consumer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The worker's consumers: document authentications, and citizens' (un)registrations. */
    consumers: RequestConsumer[];
  }
}

type Channel = Parameters<typeof declareWorkQueue>[0];

/**
 * The worker's consumers, each with its queues declared at every connect:
 * `document.authentication.requested` from its work queue, `transfer.documents.stored` (the
 * documents service's answers for incoming transfers) from its own, and `register.citizen.requested` /
 * `unregister.citizen.requested` from the queues the platform's affiliation service feeds (only
 * with this operator's identity: without it the worker says so and leaves them alone). And the
 * depth of the queues an operator watches.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const broker = app.broker;
    if (!broker) throw new Error('The worker needs AMQP_URL (it consumes from RabbitMQ)');
    const consumed = consumedCounter(app.registry);
    const common = {
      broker,
      consumed,
      requeueDelayMs: tuning.worker.requeueDelayMs,
    };
    const requests = documentRequestsQueue(config.AMQP_EXCHANGE, tuning.worker.retryDelaysMs);
    const consumers: RequestConsumer[] = [
      new DocumentRequestConsumer({
        ...common,
        queue: requests,
        hub: app.hub,
        documents: app.documents,
        log: app.log.child({ component: 'consumer' }),
      }),
    ];
    const stored = documentsStoredQueue(config.AMQP_EXCHANGE);
    consumers.push(
      new DocumentsStoredConsumer({
        ...common,
        queue: stored,
        transfers: app.transfers,
        log: app.log.child({ component: 'consumer' }),
      }),
    );
    const watched = [
      requests.deadLetterQueue,
      app.topology.unroutedQueue,
      requests.queue,
      stored.deadLetterQueue,
    ];

    const shared: { queue: SharedQueue; replies: string[] }[] = [];
    const { operator } = config;
    const missing = missingIdentity(operator, ['id', 'name']);
    if (missing.length > 0) {
      app.log.error(
        { missing },
        `not consuming register/unregister.citizen.requested: ${missing.join(' and ')} unset`,
      );
    } else {
      const identity = { id: operator.id as string, name: operator.name as string };
      for (const kind of Object.keys(CITIZEN_QUEUES) as CitizenRequestKind[]) {
        const { queue: name, ours, reply } = CITIZEN_QUEUES[kind];
        const queue = sharedQueue(app.topology, name, ours, tuning.worker.retryDelaysMs);
        shared.push({ queue, replies: [reply.routingKey] });
        consumers.push(
          new CitizenRequestConsumer({
            ...common,
            kind,
            queue,
            citizens: app.citizens,
            outbox: app.outbox,
            identity,
            log: app.log.child({ component: 'consumer' }),
          }),
        );
        watched.push(queue.deadLetterQueue, queue.queue);
      }
    }
    // One setup, in order: amqp-connection-manager runs the setups of a channel concurrently, so
    // a binding in a setup of its own could race the publisher's declaration of the exchange.
    // Prefetch is set here, awaited, rather than as consume()'s `prefetch` option:
    // amqp-connection-manager 5 sends that one without awaiting it, so a channel closing at that
    // moment (a SIGTERM right after start) left an unhandled rejection and the worker exited 1.
    await broker.channel.addSetup(async (channel: Channel) => {
      await declareExchanges(channel, app.topology);
      await declareWorkQueue(channel, app.topology, requests);
      await declareWorkQueue(channel, app.topology, stored);
      for (const { queue, replies } of shared) {
        await declareSharedQueue(channel, app.topology, queue, replies);
      }
      await channel.prefetch(config.WORKER_PREFETCH);
    });
    queueDepthGauge(app.registry, broker, watched);
    app.addHook('onReady', async () => {
      for (const consumer of consumers) await consumer.start();
    });
    app.addHook('onClose', async () => {
      await Promise.all(consumers.map((c) => c.stop()));
    });
    app.decorate('consumers', consumers);
  },
  { name: 'consumers', dependencies: ['messaging', 'hub', 'services', 'transfers'] },
);
