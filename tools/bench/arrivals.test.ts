import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { constantArrivals } from './arrivals.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A server answering each request after `delayMs`, counting the most it held at once. */
async function serve(delayMs: number, status = 200) {
  const seen = { requests: 0, open: 0, most: 0 };
  const s = createServer((_req, res) => {
    seen.requests++;
    seen.most = Math.max(seen.most, ++seen.open);
    setTimeout(() => {
      seen.open--;
      res.writeHead(status).end('{}');
    }, delayMs);
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen };
}

const next = () => ({ method: 'GET' as const, path: '/' });

describe('open-model load generator (constant arrivals)', () => {
  it('starts requests on schedule and accounts for each one when the server keeps up', async () => {
    const { url, seen } = await serve(1);
    const run = await constantArrivals({
      url,
      rate: 200,
      durationSeconds: 1,
      maxInFlight: 200,
      next,
    });
    // Every request due is accounted for once; on a loaded CI machine a few may fail or drop.
    const { latencies: _l, answeredAt: _a, seconds: _s, ...totals } = run;
    expect(totals, JSON.stringify(totals)).toMatchObject({ due: 200, non2xx: 0 });
    expect(run.answered + run.errors + run.dropped).toBe(200);
    expect(seen.requests).toBeGreaterThanOrEqual(run.answered);
    expect(seen.requests).toBeLessThanOrEqual(run.answered + run.errors);
    expect(run.answered).toBeGreaterThanOrEqual(190);
    expect(run.seconds).toHaveLength(1);
    expect(run.latencies).toHaveLength(run.answered);
  });

  it('drops what is due while every slot is busy, and never holds more than the slots', async () => {
    const { url, seen } = await serve(200);
    const run = await constantArrivals({
      url,
      rate: 100,
      durationSeconds: 1,
      maxInFlight: 5,
      next,
    });
    // Five slots of 200 ms each: at most ~25 starts in a second; the other ~75 are dropped.
    expect(seen.most).toBeLessThanOrEqual(5);
    expect(run.dropped).toBeGreaterThan(50);
    expect(run.dropped + seen.requests).toBe(100);
    expect(run.p50).toBeGreaterThanOrEqual(200);
  });

  it('counts non-2xx answers and refused connections', async () => {
    const { url } = await serve(1, 503);
    const bad = await constantArrivals({
      url,
      rate: 50,
      durationSeconds: 1,
      maxInFlight: 50,
      next,
    });
    expect(bad.non2xx).toBe(50);
    const closed = server;
    server = undefined;
    closed?.closeAllConnections();
    await new Promise((r) => closed?.close(r));
    const gone = await constantArrivals({
      url,
      rate: 20,
      durationSeconds: 1,
      maxInFlight: 20,
      next,
    });
    expect(gone).toMatchObject({ errors: 20, answered: 0, errorCodes: { ECONNREFUSED: 20 } });
  });
});
