import Fastify, { type FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import dbPlugin from '../../plugins/db.js';
import errorsPlugin from '../../plugins/errors.js';
import metricsPlugin from '../../plugins/metrics.js';
import shutdownPlugin from '../../plugins/shutdown.js';
import workerPlugin from '../../plugins/worker.js';
import healthRoutes from '../../routes/health.js';
import type { Config } from '../config.js';
import { loggerOptions } from '../logger.js';

/**
 * The worker process: consumes document authentication requests. Its HTTP port serves only
 * /health/live, /health/ready and /metrics, for the orchestrator and Prometheus.
 */
export async function buildWorker(
  config: Config,
  options: { loggerInstance?: FastifyBaseLogger } = {},
) {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: loggerOptions(config) }),
    forceCloseConnections: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(shutdownPlugin);
  await app.register(metricsPlugin);
  await app.register(errorsPlugin);
  await app.register(dbPlugin, { config });
  await app.register(workerPlugin, { config });
  await app.register(healthRoutes);
  return app;
}

export type Worker = Awaited<ReturnType<typeof buildWorker>>;
