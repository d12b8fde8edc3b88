import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { lockDataDir } from './lock.js';
import { migrationsFolder } from './paths.js';

/**
 * The database engine: Drizzle on postgres.js, or on PGlite (Postgres in this process) when no
 * URL is given. Tables and their queries live with the features that own them (src/<feature>/
 * *.table.ts and *.repository.ts); this folder knows none of them.
 */

/** The Drizzle database, whichever driver is behind it (postgres.js or PGlite). */
export type Db = PgDatabase<PgQueryResultHKT>;
export type Tx = PgTransaction<PgQueryResultHKT>;
/** What repositories take: the database or a transaction opened by the use case. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  /** The embedded database's folder (`memory://` for one in memory). */
  dataDir: string;
  poolMax?: number;
}

/**
 * Opens the database. The embedded one is locked for this process: opening a folder another
 * live process has open throws DataDirBusyError (db/lock.ts), naming that process.
 */
export function createDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) return createPostgres(options.databaseUrl, options.poolMax ?? 10);
  return createPglite(options.dataDir);
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

function createPglite(dataDir: string): Database {
  // `memory://` keeps everything in memory (tests); anything else is a folder on disk.
  let location = dataDir;
  let release = () => {};
  if (!dataDir.startsWith('memory://')) {
    const folder = resolve(dataDir);
    mkdirSync(folder, { recursive: true });
    release = lockDataDir(folder, join(folder, 'pglite.lock'));
    location = join(folder, 'pglite');
  }
  const client = new PGlite(location);
  const pg = drizzlePglite({ client });
  return {
    db: pg as unknown as Db,
    kind: 'pglite',
    ping: async () => {
      await pg.execute(sql`select 1`);
    },
    migrate: () => migratePglite(pg, { migrationsFolder }),
    close: async () => {
      try {
        await client.close();
      } finally {
        release();
      }
    },
  };
}
