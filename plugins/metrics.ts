import fastifyMetrics from 'fastify-metrics';
import fp from 'fastify-plugin';
import { Counter, Registry } from 'prom-client';

export interface AppMetrics {
  /** Every metric of this app instance; domain code adds its own with `registers: [registry]`. */
  registry: Registry;
  loginFailures: Counter;
  tokensRevoked: Counter<'reason'>;
  rateLimited: Counter<'route'>;
  checks: Counter<'status' | 'source'>;
  authentications: Counter<'status' | 'channel'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    appMetrics: AppMetrics;
  }
  interface FastifyContextConfig {
    /** Keep this route out of the pressure and rate limits (health, metrics). */
    operational?: boolean;
  }
}

/** Prometheus metrics at /metrics: HTTP histograms by route and status, process, business. */
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
    app.decorate('appMetrics', {
      registry,
      loginFailures: new Counter({
        name: 'auth_login_failures_total',
        help: 'Failed login attempts (wrong username or password, disabled user).',
        registers: [registry],
      }),
      tokensRevoked: new Counter({
        name: 'auth_tokens_revoked_total',
        help: 'Token revocations, by reason (logout, refresh_reuse).',
        labelNames: ['reason'],
        registers: [registry],
      }),
      rateLimited: new Counter({
        name: 'http_rate_limited_total',
        help: 'Requests refused with 429 by a rate limit, by route.',
        labelNames: ['route'],
        registers: [registry],
      }),
      checks: new Counter({
        name: 'affiliation_checks_total',
        help: 'Affiliation checks by status (ELIGIBLE, ALREADY_AFFILIATED, ERROR) and source (hub, cache).',
        labelNames: ['status', 'source'],
        registers: [registry],
      }),
      authentications: new Counter({
        name: 'document_authentications_total',
        help: 'Document authentications by status (VERIFIED, REJECTED, ERROR) and channel (http, amqp).',
        labelNames: ['status', 'channel'],
        registers: [registry],
      }),
    });
  },
  { name: 'metrics' },
);
