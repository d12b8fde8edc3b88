import underPressure from '@fastify/under-pressure';
import fp from 'fastify-plugin';
import type { Config } from '../src/config.js';
import { serviceUnavailable } from '../src/errors.js';

/** 503 with Retry-After while the process is overloaded, except on operational routes. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    await app.register(underPressure, {
      maxEventLoopDelay: config.MAX_EVENT_LOOP_DELAY_MS,
      maxHeapUsedBytes: config.MAX_HEAP_USED_BYTES,
      pressureHandler: (request) => {
        // Logged once, by the error handler, like every 5xx.
        if (request.routeOptions.config.operational) return undefined;
        return Promise.reject(serviceUnavailable('The service is overloaded; retry shortly', 2));
      },
    });
  },
  { name: 'under-pressure' },
);
