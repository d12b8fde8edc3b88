import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/api.js';
import { bearer, buildTestApp, createUser, login, withServices } from '../helpers/app.js';
import { citizenId, startHub } from '../helpers/hub.js';
import { eventually } from '../helpers/wait.js';

type Hub = Awaited<ReturnType<typeof startHub>>;

const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
};

/**
 * A slow hub must cost only the calls that need it: the bulkhead (HUB_MAX_CONCURRENT) lets the
 * excess wait at most a second for a slot (in a bounded queue), then answers 503 + Retry-After,
 * and the routes that do not need the hub keep answering quickly, over real sockets, while a
 * flood of checks waits on it.
 */
withServices('bulkhead: a slow hub does not drag the other routes down', () => {
  let hub: Hub;
  let app: App;
  let base: string;
  let token: string;

  beforeAll(async () => {
    hub = await startHub();
    app = await buildTestApp(
      {
        GOVCARPETA_URL: hub.url,
        HUB_TIMEOUT_MS: '8000',
        HUB_MAX_CONCURRENT: '10',
        CHECK_CACHE_TTL_SECONDS: '0',
        RATE_LIMIT_MAX: '0',
      },
      { tuning: { hub: { retries: 0 } } },
    );
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    token = (await login(app, await createUser(app, ['admin']))).access_token;
  });
  afterAll(async () => {
    hub?.setFaults({ latencyMs: 0 });
    await app?.close();
    await hub?.close();
  });

  it('keeps p99 of /auth/me, the history and readiness far below the hub latency', async () => {
    const HUB_LATENCY_MS = 5000;
    hub.setFaults({ latencyMs: HUB_LATENCY_MS });
    const headers = { 'content-type': 'application/json', ...bearer(token) };
    const statuses = new Map<number, number>();
    let flooding = true;
    const flood = Array.from({ length: 60 }, async () => {
      while (flooding) {
        const res = await fetch(`${base}/api/v1/affiliation/check`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ citizen_id: citizenId('eligible') }),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
        if (res.status === 503) {
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
          // A client that backs off (less than Retry-After asks): the flood stays a flood of
          // waiting hub calls, not a CPU benchmark of immediate refusals.
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });

    // Every slot is taken (the hub has the calls, waiting out its latency) and the excess refused.
    await eventually(() => (hub.calls.validateCitizen ?? 0) >= 10 && (statuses.get(503) ?? 0) > 0);
    const latencies: number[] = [];
    const others = ['/api/v1/auth/me', '/api/v1/affiliation/checks?limit=5', '/health/ready'];
    for (let i = 0; i < 90; i++) {
      const path = others[i % others.length] as string;
      const started = performance.now();
      const res = await fetch(`${base}${path}`, { headers: bearer(token) });
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      expect(res.status, path).toBe(200);
    }
    flooding = false;
    await Promise.all(flood);

    // The flood got answers, 200 or a 503 within the queue's second, never anything else.
    expect([...statuses.keys()].every((s) => s === 200 || s === 503)).toBe(true);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    // Not a speed test: p99 measured 88-112 ms alone and up to 640 ms with the whole suite
    // running beside it on 2 cores; what must not happen is waiting on the hub (5 s).
    expect(p99(latencies)).toBeLessThan(HUB_LATENCY_MS / 2);
  }, 60_000);
});
