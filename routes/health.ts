import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { within } from '../src/shared/timing.js';

const CHECK_TIMEOUT_MS = 2000;

const readySchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.record(z.string(), z.enum(['up', 'down'])),
  down: z.array(z.string()).optional(),
});

async function probe(check: () => Promise<unknown>): Promise<'up' | 'down'> {
  try {
    return (
      (await within(
        CHECK_TIMEOUT_MS,
        check().then(() => 'up' as const),
      )) ?? 'down'
    );
  } catch {
    return 'down';
  }
}

/** Liveness and readiness for orchestrators; no auth, no rate limit. */
const healthRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/health/live',
    {
      logLevel: 'warn',
      config: { operational: true },
      schema: {
        tags: ['operations'],
        summary: 'The process is serving',
        response: { 200: z.object({ status: z.literal('live') }) },
      },
    },
    async () => ({ status: 'live' as const }),
  );

  app.get(
    '/health/ready',
    {
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Every dependency is usable (503 names what is down)',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, () => Promise<unknown>> = {
        postgres: () => app.database.ping(),
      };
      // The worker registers no Redis: it keeps no shared keys.
      const redis = app.hasDecorator('redis') ? app.redis : null;
      if (redis) checks.redis = () => redis.ping();
      const broker = app.broker;
      if (broker) {
        checks.rabbitmq = async () => {
          if (!broker.isConnected()) throw new Error('not connected');
        };
      }
      const names = Object.keys(checks);
      const results = await Promise.all(
        names.map((name) => probe(checks[name] as () => Promise<unknown>)),
      );
      const state = Object.fromEntries(names.map((name, i) => [name, results[i] ?? 'down']));
      const down = names.filter((name) => state[name] === 'down');
      if (down.length > 0) {
        reply.code(503).header('retry-after', '5');
        return { status: 'unavailable' as const, checks: state, down };
      }
      return { status: 'ready' as const, checks: state };
    },
  );
};

export default healthRoutes;
