import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { migrationsFolder } from './paths.js';
import type { Database, DatabaseOptions, Db } from './types.js';

/**
 * The database engine: Drizzle on postgres.js, or on PGlite (Postgres in this process) when no
 * URL is given. Tables and their queries live with the features that own them (src/<feature>/
 * *.table.ts and *.repository.ts); this folder knows none of them.
 */

export type { Database, DatabaseOptions, Db, Executor, Tx } from './types.js';

/**
 * Opens the database. The embedded one is locked for this process: opening a folder another
 * live process has open throws DataDirBusyError (db/lock.ts), naming that process. It is loaded
 * only when asked for, so an install without PGlite (the image: production runs Postgres) works.
 */
export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) return createPostgres(options.databaseUrl, options.poolMax ?? 10);
  const { createEmbedded } = await import('./embedded.js');
  return createEmbedded(options.dataDir);
}

function createPostgres(url: string, max: number): Database {
  const client = postgres(url, {
    max,
    connect_timeout: 5,
    // Seconds before reconnect attempt n, capped at 1 s: postgres.js grows it to 20 s, and the
    // queries queued meanwhile wait it out long after the database is back.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: 'citizen-affiliation' },
  });
  const db = drizzlePostgres({ client }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await client`select 1`;
    },
    migrate: () => migratePostgres(drizzlePostgres({ client }), { migrationsFolder }),
    close: () => client.end({ timeout: 5 }),
  };
}
