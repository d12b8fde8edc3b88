import fp from 'fastify-plugin';
import { createDatabase, type Database, type Db } from '../db/client.js';
import type { Settings } from '../src/config/settings.js';
import { traceTransactions } from '../src/telemetry/tracing.js';

declare module 'fastify' {
  interface FastifyInstance {
    database: Database;
    db: Db;
  }
}

/**
 * Postgres through postgres.js, or PGlite in process when DATABASE_URL is unset (locked for this
 * process, and migrated at start). Postgres is migrated by `npm run migrate` before a deploy.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const database = await createDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: config.DATABASE_POOL_MAX,
    });
    app.addHook('onClose', () => database.close());
    try {
      await database.ping();
      if (tuning.migrateOnStart ?? config.embeddedDatabase) await database.migrate();
    } catch (err) {
      await database.close();
      throw new Error(`Database is not usable (${database.kind}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    app.log.info({ kind: database.kind }, 'database ready');
    traceTransactions(database.db);
    app.decorate('database', database);
    app.decorate('db', database.db);
  },
  { name: 'db' },
);
