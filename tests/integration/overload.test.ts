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
});
