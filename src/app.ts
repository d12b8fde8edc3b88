import Fastify, { type FastifyBaseLogger } from 'fastify';
import {
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import amqpPlugin from '../plugins/amqp.js';
import authPlugin from '../plugins/auth.js';
import dbPlugin from '../plugins/db.js';
import errorsPlugin from '../plugins/errors.js';
import hubPlugin from '../plugins/hub.js';
import metricsPlugin from '../plugins/metrics.js';
import rateLimitPlugin from '../plugins/rate-limit.js';
import redisPlugin from '../plugins/redis.js';
import retentionPlugin from '../plugins/retention.js';
import securityPlugin from '../plugins/security.js';
import servicesPlugin from '../plugins/services.js';
import shutdownPlugin from '../plugins/shutdown.js';
import swaggerPlugin from '../plugins/swagger.js';
import underPressurePlugin from '../plugins/under-pressure.js';
import affiliationRoutes from '../routes/affiliation.js';
import authRoutes from '../routes/auth.js';
import documentRoutes from '../routes/documents.js';
import healthRoutes from '../routes/health.js';
import type { Config } from './config.js';
import { genReqId, loggerOptions, RequestLogController } from './logger.js';

export interface BuildOptions {
  /** A ready-made logger (tests capture output through it); else one is made from config. */
  loggerInstance?: FastifyBaseLogger;
}

/** Builds the whole service; never listens (server.ts does). Tests build the same app. */
export async function buildApp(config: Config, options: BuildOptions = {}) {
  const app = Fastify({
    ...(options.loggerInstance
      ? { loggerInstance: options.loggerInstance }
      : { logger: loggerOptions(config) }),
    genReqId,
    logController: new RequestLogController(),
    trustProxy: config.TRUST_PROXY,
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // Longer than common load balancers' idle timeout, so they close first.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body is refused with 415 instead of failing validation.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // 1. Infrastructure
  await app.register(shutdownPlugin);
  await app.register(metricsPlugin);
  await app.register(errorsPlugin);
  await app.register(securityPlugin, { config });
  await app.register(underPressurePlugin, { config });
  await app.register(swaggerPlugin);
  await app.register(dbPlugin, { config });
  await app.register(redisPlugin, { config });
  await app.register(authPlugin, { config });
  await app.register(amqpPlugin, { config });
  await app.register(hubPlugin, { config });
  await app.register(servicesPlugin);
  await app.register(retentionPlugin, { config });

  // 2. Routes: operations are public; the API has its own rate limit.
  await app.register(healthRoutes);
  await app.register(
    async (api) => {
      await api.register(rateLimitPlugin, { config });
      await api.register(authRoutes);
      await api.register(affiliationRoutes);
      await api.register(documentRoutes);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
