import type { FastifyPluginAsync } from 'fastify';
import authPlugin from '../../plugins/auth.js';
import dbPlugin from '../../plugins/db.js';
import errorsPlugin from '../../plugins/errors.js';
import hubPlugin from '../../plugins/hub.js';
import localAdminPlugin from '../../plugins/local-admin.js';
import messagingPlugin from '../../plugins/messaging.js';
import metricsPlugin from '../../plugins/metrics.js';
import rateLimitPlugin from '../../plugins/rate-limit.js';
import redisPlugin from '../../plugins/redis.js';
import retentionPlugin from '../../plugins/retention.js';
import securityPlugin from '../../plugins/security.js';
import securityLogPlugin from '../../plugins/security-log.js';
import servicesPlugin from '../../plugins/services.js';
import shutdownPlugin from '../../plugins/shutdown.js';
import swaggerPlugin from '../../plugins/swagger.js';
import transfersPlugin from '../../plugins/transfers.js';
import underPressurePlugin from '../../plugins/under-pressure.js';
import affiliationRoutes from '../../routes/affiliation.js';
import authRoutes from '../../routes/auth.js';
import citizenRoutes from '../../routes/citizens.js';
import documentRoutes from '../../routes/documents.js';
import healthRoutes from '../../routes/health.js';
import operatorRegistrationRoutes from '../../routes/operator-registration.js';
import operatorRoutes from '../../routes/operators.js';
import peerTransferRoutes from '../../routes/peer-transfers.js';
import securityEventRoutes from '../../routes/security-events.js';
import transferRoutes from '../../routes/transfers.js';
import userRoutes from '../../routes/users.js';
import type { Config } from '../config/env.js';
import { settingsOf } from '../config/settings.js';
import { currentTracing } from '../telemetry/start.js';
import { type BuildOptions, createFastify } from './base.js';
import { genReqId, RequestLogController } from './logger.js';

/** Builds the API; never listens (src/server.ts does). Tests build the same app. */
export async function buildApp(config: Config, options: BuildOptions = {}) {
  const settings = settingsOf(config, options.tuning);
  const app = createFastify(settings, options, {
    genReqId,
    logController: new RequestLogController(),
    trustProxy: config.TRUST_PROXY,
    bodyLimit: settings.tuning.bodyLimitBytes,
    requestTimeout: settings.tuning.requestTimeoutMs,
    // Longer than common load balancers' idle timeout, so they close first.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // JSON only: a text/plain body is refused with 415 instead of failing validation.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  // 1. Infrastructure (tracing first: it names each request's span by its route)
  const tracing = currentTracing();
  if (tracing) await app.register(tracing.fastifyPlugin as FastifyPluginAsync);
  await app.register(shutdownPlugin);
  await app.register(metricsPlugin);
  await app.register(errorsPlugin);
  await app.register(securityPlugin, settings);
  await app.register(underPressurePlugin, settings);
  await app.register(swaggerPlugin);
  await app.register(dbPlugin, settings);
  await app.register(redisPlugin, settings);
  await app.register(securityLogPlugin, settings);
  await app.register(authPlugin, settings);
  await app.register(messagingPlugin, { ...settings, connectionName: 'citizen-affiliation-api' });
  await app.register(hubPlugin, { ...settings, answerCache: true });
  if (config.embeddedDatabase && !config.DATA_DIR.startsWith('memory://')) {
    await app.register(localAdminPlugin, settings);
  }

  // 2. Domain services
  await app.register(servicesPlugin, settings);
  await app.register(transfersPlugin, settings);
  await app.register(retentionPlugin, settings);

  // 3. Routes: operations are public; the API has its own rate limit, and so do the public
  // endpoints of the transfer protocol (other operators call them with no token).
  const t = settings.tuning.transfers;
  const limits = {
    httpsOnly: config.NODE_ENV === 'production',
    maxDocuments: t.maxDocuments,
    maxUrlLength: t.maxUrlLength,
  };
  await app.register(healthRoutes);
  await app.register(
    async (peers) => {
      await peers.register(rateLimitPlugin, {
        ...settings,
        limit: { max: t.peerRateLimitMax, nameSpace: 'peer-rate-limit:' },
      });
      await peers.register(peerTransferRoutes, {
        ...limits,
        bodyLimitBytes: settings.tuning.peerBodyLimitBytes,
      });
    },
    { prefix: '/api' },
  );
  await app.register(
    async (api) => {
      await api.register(rateLimitPlugin, settings);
      await api.register(authRoutes);
      await api.register(affiliationRoutes);
      await api.register(documentRoutes);
      await api.register(citizenRoutes);
      await api.register(operatorRoutes);
      await api.register(operatorRegistrationRoutes);
      await api.register(transferRoutes, limits);
      await api.register(userRoutes);
      await api.register(securityEventRoutes);
    },
    { prefix: '/api/v1' },
  );
  return app;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
