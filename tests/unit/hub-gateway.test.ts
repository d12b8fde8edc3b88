import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { HubClient, HubError } from '../../src/hub/client.js';
import { HubGateway } from '../../src/hub/gateway.js';
import { hubMetrics } from '../../src/hub/metrics.js';
import { MemoryStore } from '../../src/stores/memory-store.js';
import type { ExpiringStore } from '../../src/stores/store.js';
import { startHub } from '../helpers/hub.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

describe('HubGateway: breaker, bulkhead, single-flight, cache', () => {
  const open: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  async function setup(overrides: { cache?: ExpiringStore | null; maxConcurrent?: number } = {}) {
    const hub: Hub = await startHub();
    const client = new HubClient({
      baseUrl: hub.url,
      timeoutMs: 1000,
      retries: 0,
      retryBaseMs: 1,
      connections: 8,
    });
    const registry = new Registry();
    const errors: unknown[] = [];
    const keyed: string[] = [];
    const cache = overrides.cache === undefined ? new MemoryStore() : overrides.cache;
    const gateway = new HubGateway(client, {
      breaker: {
        errorPercent: 50,
        minCalls: 2,
        windowMs: 10_000,
        resetMs: 200,
        maxConcurrent: overrides.maxConcurrent ?? 10,
      },
      cache,
      cacheTtlMs: 60_000,
      cacheKey: (id) => {
        keyed.push(id);
        return `k:${id}`;
      },
      metrics: hubMetrics(registry),
      onCacheError: (err) => errors.push(err),
    });
    open.push(hub, { close: () => gateway.close() }, client);
    return { hub, gateway, registry, errors, keyed, cache };
  }

  it('computes the cache key of a citizen (a keyed hash) once per lookup, miss or hit', async () => {
    const { gateway, keyed, cache } = await setup();
    expect(await gateway.checkCitizen('1000003')).toMatchObject({ source: 'hub' });
    await eventually(async () => (await cache?.get('k:1000003')) != null); // stored after it is returned
    expect(await gateway.checkCitizen('1000003')).toMatchObject({ source: 'cache' });
    expect(keyed).toEqual(['1000003', '1000003']);
  });

  it('refuses calls beyond the bulkhead at once with overloaded', async () => {
    const { hub, gateway } = await setup({ maxConcurrent: 2, cache: null });
    hub.setFaults({ latencyMs: 200 });
    const results = await Promise.allSettled(
      ['1000002', '1000004', '1000006'].map((id) => gateway.checkCitizen(id)),
    );
    const failures = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(failures).toHaveLength(1);
    const reason = failures[0]?.reason as HubError;
    expect(reason).toBeInstanceOf(HubError);
    expect(reason.failure).toBe('overloaded');
  });

  it('asks the hub when the cache fails, and says so', async () => {
    const broken: ExpiringStore = {
      ...new MemoryStore(),
      get: async () => {
        throw new Error('redis down');
      },
      set: async () => {
        throw new Error('redis down');
      },
    } as unknown as ExpiringStore;
    const { gateway, errors, registry } = await setup({ cache: broken });
    expect(await gateway.checkCitizen('1000003')).toMatchObject({
      registered: true,
      source: 'hub',
    });
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(await registry.metrics()).toMatch(/hub_cache_lookups_total\{result="error"\} 1/);
  });

  it('half-opens after the reset time and lets one trial call through', async () => {
    const { hub, gateway } = await setup({ cache: null });
    hub.setFaults({ failureRate: 1 });
    await expect(gateway.checkCitizen('1000002')).rejects.toThrow(HubError);
    await expect(gateway.checkCitizen('1000002')).rejects.toThrow(HubError);
    expect(gateway.breakerState('validateCitizen')).toBe('open');
    expect(gateway.breakerState('authenticateDocument')).toBe('closed');
    await eventually(() => gateway.breakerState('validateCitizen') === 'half_open', 5000);
    hub.resetFaults();
    hub.setFaults({ latencyMs: 100 });
    const [trial, other] = await Promise.allSettled([
      gateway.checkCitizen('1000002'),
      gateway.checkCitizen('1000004'),
    ]);
    expect(trial.status).toBe('fulfilled');
    expect(other.status).toBe('rejected'); // only one trial while half-open
    expect(gateway.breakerState('validateCitizen')).toBe('closed');
  });
});
