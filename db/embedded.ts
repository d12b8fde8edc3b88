import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { lockDataDir } from './lock.js';
import { migrationsFolder } from './paths.js';
import type { Database, Db } from './types.js';

/**
 * The embedded database: PGlite (Postgres compiled to WebAssembly) in this process, for the
 * quick start and the tests. db/client.ts loads this module only when no DATABASE_URL is given.
 */
export function createEmbedded(dataDir: string): Database {
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
