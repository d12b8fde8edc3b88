import fp from 'fastify-plugin';
import { createDatabase, type Database, type Db } from '../db/client.js';
import type { Config } from '../src/config.js';

declare module 'fastify' {
  interface FastifyInstance {
    database: Database;
    db: Db;
  }
}

/** Postgres through postgres.js, or PGlite in process when DATABASE_URL is unset. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const database = createDatabase({
      databaseUrl: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      poolMax: config.DATABASE_POOL_MAX,
    });
    app.addHook('onClose', () => database.close());
    try {
      await database.ping();
      if (config.MIGRATE_ON_START) await database.migrate();
    } catch (err) {
      await database.close();
      throw new Error(`Database is not usable (${database.kind}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    app.log.info({ kind: database.kind }, 'database ready');
    app.decorate('database', database);
    app.decorate('db', database.db);
  },
  { name: 'db' },
);
