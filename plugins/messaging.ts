import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { type Broker, connectBroker } from '../src/messaging/broker.js';
import { eventMetrics } from '../src/messaging/metrics.js';
import { Outbox } from '../src/messaging/outbox.js';
import { OutboxRelay } from '../src/messaging/relay.js';
import { declareExchanges, type Topology, topology } from '../src/messaging/topology.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** RabbitMQ, or null when AMQP_URL is unset (events then wait in the outbox). */
    broker: Broker | null;
    /** The exchange and the names derived from it (AMQP_EXCHANGE). */
    topology: Topology;
    /** Where use cases write decisions with their events; the relay listens to it. */
    outbox: Outbox;
    relay: OutboxRelay | null;
  }
}

export interface MessagingOptions extends Settings {
  /** How this process names its connection in RabbitMQ's management UI. */
  connectionName: string;
}

/**
 * RabbitMQ and the outbox, for every process: a self-reconnecting confirm channel that declares
 * the exchange, and the relay that publishes this database's committed events. Consumers add
 * their own declarations to the channel (plugins/consumers.ts). The outbox backlog metrics exist
 * with or without a broker.
 */
export default fp<MessagingOptions>(
  async (app, { config, tuning, connectionName }) => {
    const metrics = eventMetrics(app.registry, app.db);
    const outbox = new Outbox(app.db);
    const names = topology(config.AMQP_EXCHANGE);
    app.decorate('outbox', outbox);
    app.decorate('topology', names);
    if (!config.AMQP_URL) {
      app.log.warn('AMQP_URL is unset: events are kept in the outbox until a broker is configured');
      app.decorate('broker', null);
      app.decorate('relay', null);
      return;
    }
    const broker = connectBroker(config.AMQP_URL, {
      name: connectionName,
      log: app.log.child({ component: 'amqp' }),
      setup: (channel) => declareExchanges(channel, names),
      publishTimeoutMs: tuning.outbox.publishTimeoutMs,
    });
    const relay = new OutboxRelay({
      db: app.db,
      outbox,
      broker,
      exchange: config.AMQP_EXCHANGE,
      batchSize: tuning.outbox.batchSize,
      pollMs: tuning.outbox.pollMs,
      publishTimeoutMs: tuning.outbox.publishTimeoutMs,
      log: app.log.child({ component: 'outbox-relay' }),
      metrics,
    });
    app.addHook('onReady', async () => relay.start());
    // After the consumers' own onClose (registered later, so run earlier): messages in hand
    // finish, then the relay publishes what they wrote, then the connection closes.
    app.addHook('onClose', async () => {
      await relay.stop();
      await broker.close();
    });
    app.decorate('broker', broker);
    app.decorate('relay', relay);
  },
  { name: 'messaging', dependencies: ['db', 'metrics'] },
);
