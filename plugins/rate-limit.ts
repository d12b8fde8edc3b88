import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { rateLimited } from '../src/shared/errors.js';

export interface RateLimitOptions extends Settings {
  /** Another limit than RATE_LIMIT_MAX, counted apart (the peers' public endpoints). */
  limit?: { max: number; nameSpace: string };
}

/**
 * Per client IP limit on the routes of the scope it is registered in (the API, not health or
 * metrics; the transfer protocol's public endpoints have one of their own). Shared through Redis
 * when configured. If Redis fails, the limit is skipped rather than failing requests; the token
 * check on protected routes still fails closed.
 */
export default fp<RateLimitOptions>(
  async (app, { config, tuning, limit }) => {
    const max = limit?.max ?? config.RATE_LIMIT_MAX;
    if (max === 0) return;
    await app.register(rateLimit, {
      global: true,
      max,
      timeWindow: tuning.rateLimitWindowSeconds * 1000,
      ...(app.redis ? { redis: app.redis } : {}),
      nameSpace: limit?.nameSpace ?? 'rate-limit:',
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
