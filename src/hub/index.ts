import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { citizenRefs } from '../privacy.js';
import type { ExpiringStore } from '../stores/store.js';
import { HubClient } from './client.js';
import { HubGateway } from './gateway.js';
import { hubMetrics } from './metrics.js';
import { buildHubSimulator } from './simulator.js';

export interface Hub {
  gateway: HubGateway;
  /** Where the hub is: GOVCARPETA_URL, or the in-process simulator's address. */
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The hub as configured: GOVCARPETA_URL, or (outside production: config refuses it there) the
 * simulator started in this process on a loopback port.
 */
export async function createHub(
  config: Config,
  deps: { registry: Registry; store: ExpiringStore; log: FastifyBaseLogger },
): Promise<Hub> {
  let baseUrl = config.GOVCARPETA_URL;
  let closeSimulator = async () => {};
  if (!baseUrl) {
    const sim = buildHubSimulator();
    baseUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
    closeSimulator = () => sim.app.close();
    deps.log.warn({ hub: baseUrl }, 'GOVCARPETA_URL is unset: using the built-in hub simulator');
  }
  const metrics = hubMetrics(deps.registry);
  const client = new HubClient({
    baseUrl,
    apiKey: config.GOVCARPETA_API_KEY,
    timeoutMs: config.HUB_TIMEOUT_MS,
    retries: config.HUB_RETRIES,
    retryBaseMs: config.HUB_RETRY_BASE_MS,
    connections: config.HUB_CONNECTIONS,
    onCall: metrics.call,
  });
  const ref = citizenRefs(config.JWT_SECRET);
  let lastCacheLog = 0;
  const gateway = new HubGateway(client, {
    breaker: {
      errorPercent: config.HUB_BREAKER_ERROR_PERCENT,
      minCalls: config.HUB_BREAKER_MIN_CALLS,
      windowMs: config.HUB_BREAKER_WINDOW_MS,
      resetMs: config.HUB_BREAKER_RESET_MS,
      maxConcurrent: config.HUB_MAX_CONCURRENT,
    },
    cache: deps.store,
    cacheTtlMs: config.CHECK_CACHE_TTL_SECONDS * 1000,
    cacheKey: (id) => `hub:citizen:${ref(id)}`,
    metrics,
    onCacheError: (err) => {
      if (Date.now() - lastCacheLog < 10_000) return;
      lastCacheLog = Date.now();
      deps.log.warn({ err: { message: (err as Error).message } }, 'hub answer cache unavailable');
    },
  });
  return {
    gateway,
    baseUrl,
    close: async () => {
      gateway.close();
      await client.close();
      await closeSimulator();
    },
  };
}
