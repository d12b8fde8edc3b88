import fp from 'fastify-plugin';
import type { Config } from '../src/config.js';
import type { HubGateway } from '../src/hub/gateway.js';
import { createHub } from '../src/hub/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** GovCarpeta behind a breaker, bulkhead, single-flight and answer cache. */
    hub: HubGateway;
  }
}

export default fp<{ config: Config }>(
  async (app, { config }) => {
    const hub = await createHub(config, {
      registry: app.appMetrics.registry,
      store: app.store,
      log: app.log,
    });
    app.addHook('onClose', () => hub.close());
    app.decorate('hub', hub.gateway);
  },
  { name: 'hub', dependencies: ['metrics', 'redis'] },
);
