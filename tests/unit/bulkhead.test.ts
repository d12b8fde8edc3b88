import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Bulkhead, BulkheadFull } from '../../src/hub/bulkhead.js';
import { type HubClient, HubError } from '../../src/hub/client.js';
import { HubGateway } from '../../src/hub/gateway.js';
import { hubMetrics } from '../../src/hub/metrics.js';

/** A hub whose validateCitizen takes `latencyMs` (or waits for release()), counting what it sees. */
function fakeHub(latencyMs: number | 'until-released') {
  let inFlight = 0;
  let maxInFlight = 0;
  let calls = 0;
  const held: (() => void)[] = [];
  const client = {
    validateCitizen: async () => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => {
        if (latencyMs === 'until-released') held.push(resolve);
        else setTimeout(resolve, latencyMs);
      });
      inFlight--;
      return { registered: false, message: 'free' };
    },
  } as unknown as HubClient;
  return {
    client,
    stats: () => ({ calls, inFlight, maxInFlight }),
    release: () => {
      for (const r of held.splice(0)) r();
    },
  };
}

function gatewayOver(
  client: HubClient,
  limits: { maxConcurrent: number; maxQueued: number; maxWaitMs: number },
) {
  const registry = new Registry();
  const gateway = new HubGateway(client, {
    breaker: { errorPercent: 50, minCalls: 1000, windowMs: 10_000, resetMs: 1000, ...limits },
    cache: null,
    cacheTtlMs: 0,
    cacheKey: (id) => id,
    metrics: hubMetrics(registry),
  });
  return { gateway, registry };
}

describe('the hub bulkhead queues within a deadline instead of refusing', () => {
  const open: HubGateway[] = [];
  afterEach(() => {
    for (const g of open.splice(0)) g.close();
    vi.useRealTimers();
  });

  it('a burst over the cap with a fast hub is all answered, never more than the cap in flight', async () => {
    const hub = fakeHub(20);
    const { gateway } = gatewayOver(hub.client, {
      maxConcurrent: 8,
      maxQueued: 32,
      maxWaitMs: 1000,
    });
    open.push(gateway);
    const ids = Array.from({ length: 40 }, (_, i) => String(1_000_000 + i)); // unique: no single-flight
    const results = await Promise.allSettled(ids.map((id) => gateway.checkCitizen(id)));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(hub.stats()).toMatchObject({ calls: 40, maxInFlight: 8 });
  });

  it('a slow hub: the excess beyond the queue is refused at once, the queued after their wait; never more than the cap in flight', async () => {
    vi.useFakeTimers();
    const hub = fakeHub('until-released');
    const { gateway, registry } = gatewayOver(hub.client, {
      maxConcurrent: 4,
      maxQueued: 8,
      maxWaitMs: 500,
    });
    open.push(gateway);
    const settled: { at: number; outcome: string }[] = [];
    const started = Date.now();
    const calls = Array.from({ length: 20 }, (_, i) =>
      gateway.checkCitizen(String(2_000_000 + i)).then(
        () => settled.push({ at: Date.now() - started, outcome: 'ok' }),
        (err: HubError) => {
          expect(err).toBeInstanceOf(HubError);
          expect(err.failure).toBe('overloaded');
          expect(err.retryAfterSeconds).toBe(1);
          settled.push({ at: Date.now() - started, outcome: 'overloaded' });
        },
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    // 4 in flight, 8 waiting, 8 refused at once
    expect(settled.filter((s) => s.outcome === 'overloaded' && s.at === 0)).toHaveLength(8);
    expect(hub.stats()).toMatchObject({ calls: 4, inFlight: 4 });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toHaveLength(8);
    await vi.advanceTimersByTimeAsync(1);
    // the 8 that waited are refused at their deadline, and never reach the hub
    expect(settled.filter((s) => s.outcome === 'overloaded' && s.at === 500)).toHaveLength(8);
    hub.release();
    await Promise.all(calls);
    expect(settled.filter((s) => s.outcome === 'ok')).toHaveLength(4);
    expect(hub.stats()).toMatchObject({ calls: 4, maxInFlight: 4 });
    expect(await registry.metrics()).toMatch(
      /hub_calls_total\{endpoint="validateCitizen",outcome="overloaded"\} 16/,
    );
  });

  it('hands a freed slot to the longest waiter (first in, first out)', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueued: 3, maxWaitMs: 10_000 });
    const order: number[] = [];
    let release: () => void = () => {};
    const first = bulkhead.run(() => new Promise<void>((r) => (release = r)));
    const waiting = [1, 2, 3].map((n) => bulkhead.run(async () => void order.push(n)));
    expect(bulkhead.queued).toBe(3);
    await expect(bulkhead.run(async () => 0)).rejects.toEqual(new BulkheadFull('queue_full'));
    release();
    await Promise.all([first, ...waiting]);
    expect(order).toEqual([1, 2, 3]);
    expect([bulkhead.inFlight, bulkhead.queued]).toEqual([0, 0]);
  });

  it('a task that throws frees its slot', async () => {
    const bulkhead = new Bulkhead({ maxConcurrent: 1, maxQueued: 1, maxWaitMs: 1000 });
    await expect(bulkhead.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await bulkhead.run(async () => 42)).toBe(42);
    expect(bulkhead.inFlight).toBe(0);
  });
});
