import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import { oncePer } from '../shared/timing.js';
import type { ExpiringStore } from '../stores/store.js';
import { HubClient, type HubClientOptions } from './client.js';
import { type BreakerOptions, HubGateway } from './gateway.js';
import { hubMetrics } from './metrics.js';
import { startPeerBeside } from './peer-simulator.js';
import { buildHubSimulator } from './simulator.js';

export interface Hub {
  gateway: HubGateway;
  /** Where the hub is: the configured URL, or the in-process simulator's address. */
  baseUrl: string;
  /** With the simulator: the simulated peer operator's base URL (listed in its directory). */
  peerUrl: string | undefined;
  close(): Promise<void>;
}

export interface HubOptions {
  /** GovCarpeta's base URL; undefined: the simulator, started in this process (development). */
  baseUrl: string | undefined;
  client: Omit<HubClientOptions, 'baseUrl' | 'onCall'>;
  breaker: BreakerOptions;
  /** Where citizen answers are reused from, for `cacheTtlMs`; null: no reuse. */
  cache: ExpiringStore | null;
  cacheTtlMs: number;
  /** The cache key of a citizen id: a keyed hash (the citizen ref), so no store holds raw ids. */
  cacheKey: (citizenId: string) => string;
}

/**
 * The hub: GovCarpeta at `baseUrl`, or the simulator started in this process on a loopback port
 * (configuration refuses that in production), behind the gateway (breaker, bulkhead, cache).
 */
export async function createHub(
  options: HubOptions,
  deps: { registry: Registry; log: FastifyBaseLogger },
): Promise<Hub> {
  let baseUrl = options.baseUrl;
  let closeSimulator = async () => {};
  let peerUrl: string | undefined;
  if (!baseUrl) {
    const sim = buildHubSimulator();
    baseUrl = await sim.app.listen({ host: '127.0.0.1', port: 0 });
    // A peer operator to transfer citizens to and from: the directory's "Operador Ciudadano".
    const peer = await startPeerBeside(sim, baseUrl, { host: '127.0.0.1', port: 0 });
    peerUrl = peer.baseUrl;
    closeSimulator = async () => {
      await peer.app.close();
      await sim.app.close();
    };
    deps.log.warn(
      { hub: baseUrl, peer: peerUrl },
      'GOVCARPETA_URL is unset: using the built-in hub simulator and its peer operator',
    );
  }
  const metrics = hubMetrics(deps.registry);
  const client = new HubClient({ ...options.client, baseUrl, onCall: metrics.call });
  const reportCacheError = oncePer(10_000);
  const gateway = new HubGateway(client, {
    breaker: options.breaker,
    cache: options.cache,
    cacheTtlMs: options.cacheTtlMs,
    cacheKey: (id) => `hub:citizen:${options.cacheKey(id)}`,
    metrics,
    onCacheError: (err) => {
      if (!reportCacheError()) return;
      deps.log.warn({ err: { message: (err as Error).message } }, 'hub answer cache unavailable');
    },
  });
  return {
    gateway,
    baseUrl,
    peerUrl,
    close: async () => {
      gateway.close();
      await client.close();
      await closeSimulator();
    },
  };
}
