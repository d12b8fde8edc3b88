import consumersPlugin from '../../plugins/consumers.js';
import dbPlugin from '../../plugins/db.js';
import errorsPlugin from '../../plugins/errors.js';
import hubPlugin from '../../plugins/hub.js';
import messagingPlugin from '../../plugins/messaging.js';
import metricsPlugin from '../../plugins/metrics.js';
import servicesPlugin from '../../plugins/services.js';
import shutdownPlugin from '../../plugins/shutdown.js';
import transfersPlugin from '../../plugins/transfers.js';
import healthRoutes from '../../routes/health.js';
import type { Config } from '../config/env.js';
import { settingsOf } from '../config/settings.js';
import { type BuildOptions, createFastify } from './base.js';

/**
 * The worker: consumes requests from RabbitMQ with the same database, messaging, hub and
 * services plugins as the API. Its HTTP port serves only /health/live, /health/ready and
 * /metrics, for the orchestrator and Prometheus. It keeps no answer cache (it never checks
 * citizens) and needs no Redis.
 */
export async function buildWorker(config: Config, options: BuildOptions = {}) {
  const settings = settingsOf(config, options.tuning);
  const app = createFastify(settings, options, { forceCloseConnections: true });
  await app.register(shutdownPlugin);
  await app.register(metricsPlugin);
  await app.register(errorsPlugin);
  await app.register(dbPlugin, settings);
  await app.register(messagingPlugin, {
    ...settings,
    connectionName: 'citizen-affiliation-worker',
  });
  await app.register(hubPlugin, { ...settings, answerCache: false });
  await app.register(servicesPlugin, settings);
  await app.register(transfersPlugin, settings);
  await app.register(consumersPlugin, settings);
  await app.register(healthRoutes);
  return app;
}

export type Worker = Awaited<ReturnType<typeof buildWorker>>;
