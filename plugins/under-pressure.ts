import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { serviceUnavailable } from '../src/shared/errors.js';

/**
 * 503 with Retry-After while the process is overloaded, except on operational routes. The event
 * loop's lag is not believed until `pressureWarmupMs` after the app is ready: the samples of the
 * first second hold the start-up work (PGlite compiling, migrations), which is no overload, and
 * the first requests after `npm start` were answered 503 for it.
 */
export default fp<Settings>(
  async (app, { tuning }) => {
    let readyAt = Number.POSITIVE_INFINITY;
    app.addHook('onReady', async () => {
      readyAt = performance.now();
    });
    await app.register(underPressure, {
      maxEventLoopDelay: tuning.maxEventLoopDelayMs,
      maxHeapUsedBytes: tuning.maxHeapUsedBytes,
      pressureHandler: (request, _reply, type) => {
        // Logged once, by the error handler, like every 5xx.
        if (request.routeOptions.config.operational) return undefined;
        // Before ready, readyAt is +∞: the difference is −∞, so still warming.
        const warming = performance.now() - readyAt < tuning.pressureWarmupMs;
        if (type === 'eventLoopDelay' && warming) return undefined;
        return Promise.reject(serviceUnavailable('The service is overloaded; retry shortly', 2));
      },
    });
  },
  { name: 'under-pressure' },
);
