import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { rateLimited } from '../src/shared/errors.js';

/**
 * Per client IP limit on the routes of the scope it is registered in (the API, not health or
 * metrics). Shared through Redis when configured. If Redis fails, the limit is skipped rather
 * than failing requests; the token check on protected routes still fails closed.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    if (config.RATE_LIMIT_MAX === 0) return;
    await app.register(rateLimit, {
      global: true,
      max: config.RATE_LIMIT_MAX,
      timeWindow: tuning.rateLimitWindowSeconds * 1000,
      ...(app.redis ? { redis: app.redis } : {}),
      nameSpace: 'rate-limit:',
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        rateLimited(
          context.ttl / 1000,
          `Rate limit of ${context.max} requests per ${context.after} exceeded`,
        ),
    });
  },
  { name: 'rate-limit', dependencies: ['redis'] },
);
