import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { serviceUnavailable } from '../src/shared/errors.js';

/** 503 with Retry-After while the process is overloaded, except on operational routes. */
export default fp<Settings>(
  async (app, { tuning }) => {
    await app.register(underPressure, {
      maxEventLoopDelay: tuning.maxEventLoopDelayMs,
      maxHeapUsedBytes: tuning.maxHeapUsedBytes,
      pressureHandler: (request) => {
        // Logged once, by the error handler, like every 5xx.
        if (request.routeOptions.config.operational) return undefined;
        return Promise.reject(serviceUnavailable('The service is overloaded; retry shortly', 2));
      },
    });
  },
  { name: 'under-pressure' },
);
