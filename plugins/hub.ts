import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { gatewayLimits, type HubGateway } from '../src/hub/gateway.js';
import { createHub } from '../src/hub/hub.js';
import { citizenRefs } from '../src/shared/citizen.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** GovCarpeta behind a breaker, bulkhead, single-flight and answer cache. */
    hub: HubGateway;
    /** With the built-in simulator: its peer operator's base URL (a development tool). */
    simulatedPeerUrl: string | null;
  }
}

export interface HubPluginOptions extends Settings {
  /** Reuse citizen answers from the app's store (plugins/redis.ts) for CHECK_CACHE_TTL_SECONDS. */
  answerCache: boolean;
}

/** GovCarpeta (GOVCARPETA_URL, or the simulator outside production), for every process. */
export default fp<HubPluginOptions>(
  async (app, { config, tuning, answerCache }) => {
    if (answerCache && !app.hasDecorator('store')) {
      throw new Error('the hub answer cache needs the redis plugin registered first');
    }
    const hub = await createHub(
      {
        baseUrl: config.GOVCARPETA_URL,
        client: {
          apiKey: config.GOVCARPETA_API_KEY,
          timeoutMs: config.HUB_TIMEOUT_MS,
          retries: tuning.hub.retries,
          retryBaseMs: tuning.hub.retryBaseMs,
          connections: tuning.hub.connections,
        },
        breaker: gatewayLimits(tuning.hub, config.HUB_MAX_CONCURRENT),
        cache: answerCache ? app.store : null,
        cacheTtlMs: config.CHECK_CACHE_TTL_SECONDS * 1000,
        cacheKey: citizenRefs(config.JWT_SECRET),
      },
      { registry: app.registry, log: app.log },
    );
    app.addHook('onClose', () => hub.close());
    app.decorate('hub', hub.gateway);
    app.decorate('simulatedPeerUrl', hub.peerUrl ?? null);
  },
  { name: 'hub', dependencies: ['metrics'] },
);
