import { expect, it } from 'vitest';
import { buildTestApp, withServices } from '../helpers/app.js';

const blockEventLoop = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* busy: this is the overload */
  }
};

withServices('overload', () => {
  it('answers 503 with Retry-After while the event loop lags, but keeps /health/live up', async () => {
    const app = await buildTestApp({}, { tuning: { maxEventLoopDelayMs: 50 } });
    try {
      let refused: Awaited<ReturnType<typeof app.inject>> | undefined;
      const deadline = Date.now() + 10_000;
      while (!refused && Date.now() < deadline) {
        blockEventLoop(250);
        await new Promise((r) => setTimeout(r, 20));
        const res = await app.inject({ url: '/api/v1/auth/me' });
        if (res.statusCode === 503) refused = res;
        else expect(res.statusCode).toBe(401);
      }
      expect(refused?.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
      expect(refused?.headers['retry-after']).toBe('2');
      expect((await app.inject({ url: '/health/live' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('does not believe the lag of the start-up: no 503 for it in the warm-up after ready', async () => {
    const app = await buildTestApp(
      {},
      { tuning: { maxEventLoopDelayMs: 50, pressureWarmupMs: 60_000 } },
    );
    try {
      await app.ready();
      const deadline = Date.now() + 10_000;
      // the loop stalls as it does while PGlite compiles, until the guard measures it
      while (!(app as unknown as { isUnderPressure(): boolean }).isUnderPressure()) {
        if (Date.now() > deadline) throw new Error('the lag was never measured');
        blockEventLoop(250);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await app.inject({ url: '/api/v1/auth/me' })).statusCode).toBe(401); // not 503
    } finally {
      await app.close();
    }
  });
});
