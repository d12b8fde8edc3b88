import fp from 'fastify-plugin';
import type { Settings } from '../src/config/settings.js';
import { retentionMetrics } from '../src/retention/metrics.js';
import { RETAINED_TABLES, Retention } from '../src/retention/retention.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Deletes rows that have done their job; runs every RETENTION_INTERVAL_SECONDS. */
    retention: Retention;
  }
}

/**
 * Runs retention (src/retention/retention.service.ts) on a timer in the API. Each wait is the
 * interval ±25 %, so replicas started together do not purge together. A failed run is logged
 * and tried again at the next one (a table that fails does not hold up the others); closing the
 * app stops a run between two batches and waits for it.
 */
export default fp<Settings>(
  async (app, { config }) => {
    const retention = new Retention(app.db, { hours: config.RETENTION_HOURS });
    app.decorate('retention', retention);
    const intervalMs = config.RETENTION_INTERVAL_SECONDS * 1000;
    if (intervalMs === 0) return;

    const { deleted, failures } = retentionMetrics(app.registry);
    const log = app.log.child({ component: 'retention' });

    let closing = false;
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<void> | undefined;

    const run = async () => {
      const started = performance.now();
      const { deleted: purged, failed } = await retention.purge(() => closing);
      for (const table of RETAINED_TABLES) deleted.inc({ table }, purged[table]);
      for (const { table, error } of failed) {
        failures.inc({ table });
        log.warn(
          { err: error, table },
          'retention failed for a table; trying again at the next run',
        );
      }
      const total = Object.values(purged).reduce((a, b) => a + b, 0);
      const ms = Math.round(performance.now() - started);
      if (total > 0) log.info({ deleted: purged, ms }, 'retention: deleted expired rows');
    };
    const schedule = () => {
      timer = setTimeout(
        () => {
          running = run()
            .catch((err) => log.error({ err }, 'retention run failed'))
            .finally(() => {
              running = undefined;
              if (!closing) schedule();
            });
        },
        intervalMs * (0.75 + Math.random() / 2),
      );
      timer.unref();
    };

    app.addHook('onReady', async () => schedule());
    app.addHook('preClose', async () => {
      closing = true;
      clearTimeout(timer);
      await running;
    });
  },
  { name: 'retention', dependencies: ['db', 'metrics'] },
);
