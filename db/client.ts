import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { migrationsFolder } from '../src/paths.js';
import * as schema from './schema.js';

export type Schema = typeof schema;
/** The Drizzle database, whichever driver is behind it (postgres.js or PGlite). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema>;
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
  dataDir: string;
  poolMax?: number;
}

export function createDatabase(options: DatabaseOptions): Database {
  if (options.databaseUrl) return createPostgres(options.databaseUrl, options.poolMax ?? 10);
  return createPglite(options.dataDir);
}

function createPostgres(url: string, max: number): Database {
  const client = postgres(url, {
    max,
    connect_timeout: 5,
    // Seconds before reconnect attempt n. postgres.js grows this to 20 s, and queries queued
    // meanwhile wait it out: a 2 s Postgres blip held requests for 17-26 s in the fault test.
    // Capped at 1 s, recovery follows within a second.
    backoff: (attempt: number) => Math.min(0.05 * 2 ** attempt, 1),
    idle_timeout: 60,
    onnotice: () => {},
    connection: { application_name: 'citizen-affiliation' },
  });
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  return {
    db,
    kind: 'postgres',
    ping: async () => {
      await client`select 1`;
    },
    migrate: () => migratePostgres(drizzlePostgres({ client, schema }), { migrationsFolder }),
    close: () => client.end({ timeout: 5 }),
  };
}

function createPglite(dataDir: string): Database {
  // `memory://` keeps everything in memory (tests); anything else is a folder on disk.
  let location = dataDir;
  if (!dataDir.startsWith('memory://')) {
    location = resolve(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  const client = new PGlite(location);
  const pg = drizzlePglite({ client, schema });
  return {
    db: pg as unknown as Db,
    kind: 'pglite',
    ping: async () => {
      await pg.execute(sql`select 1`);
    },
    migrate: () => migratePglite(pg, { migrationsFolder }),
    close: () => client.close(),
  };
}
