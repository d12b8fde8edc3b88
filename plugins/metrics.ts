import fastifyMetrics from 'fastify-metrics';
import fp from 'fastify-plugin';
import { Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every metric of this app instance; each feature adds its own families to it. */
    registry: Registry;
  }
  interface FastifyContextConfig {
    /** Keep this route out of the pressure and rate limits (health, metrics). */
    operational?: boolean;
  }
}

/** Prometheus metrics at /metrics: HTTP histograms by route and status, process, and the rest. */
export default fp(
  async (app) => {
    // One registry per app instance, so several instances can live in one process (tests).
    const registry = new Registry();
    // fastify-metrics is CommonJS with an `exports.default`.
    await app.register(fastifyMetrics.default, {
      endpoint: null, // served below, from this instance's registry only
      defaultMetrics: { enabled: true, register: registry },
      routeMetrics: {
        enabled: { histogram: true, summary: false },
        overrides: {
          // Constructed even though disabled: keep it out of the global registry too.
          summary: { registers: [registry] },
          histogram: {
            registers: [registry],
            buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
          },
        },
      },
    });
    app.get(
      '/metrics',
      { logLevel: 'warn', config: { operational: true }, schema: { hide: true } },
      async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
    );
    app.decorate('registry', registry);
  },
  { name: 'metrics' },
);
