import fp from 'fastify-plugin';
import type { Config } from '../src/config.js';
import { type Broker, connectBroker } from '../src/events/broker.js';
import { eventMetrics } from '../src/events/metrics.js';
import { Outbox } from '../src/events/outbox.js';
import { type OutboxRelay, relayFromConfig } from '../src/events/relay.js';
import { declareExchanges, topology } from '../src/events/topology.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** RabbitMQ, or null when AMQP_URL is unset (events then wait in the outbox). */
    broker: Broker | null;
    /** Where use cases write decisions with their events; the relay listens to it. */
    outbox: Outbox;
    relay: OutboxRelay | null;
  }
}

/**
 * The AMQP publisher: a self-reconnecting confirm channel and the outbox relay running in this
 * process. The outbox backlog metrics exist with or without a broker.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const metrics = eventMetrics(app.appMetrics.registry, app.db);
    const outbox = new Outbox(app.db);
    app.decorate('outbox', outbox);
    if (!config.AMQP_URL) {
      app.log.warn('AMQP_URL is unset: events are kept in the outbox until a broker is configured');
      app.decorate('broker', null);
      app.decorate('relay', null);
      return;
    }
    const names = topology(config.AMQP_EXCHANGE);
    const broker = connectBroker(config.AMQP_URL, {
      name: 'citizen-affiliation-api',
      log: app.log.child({ component: 'amqp' }),
      setup: (channel) => declareExchanges(channel, names),
      publishTimeoutMs: config.OUTBOX_PUBLISH_TIMEOUT_MS,
    });
    const relay = relayFromConfig(config, {
      database: app.database,
      outbox,
      broker,
      log: app.log.child({ component: 'outbox-relay' }),
      metrics,
    });
    app.addHook('onReady', async () => relay.start());
    app.addHook('onClose', async () => {
      await relay.stop();
      await broker.close();
    });
    app.decorate('broker', broker);
    app.decorate('relay', relay);
  },
  { name: 'amqp', dependencies: ['db', 'metrics'] },
);
