import postgres from 'postgres';
import { createDatabase } from '../../db/client.js';

export interface ScratchDatabase {
  url: string;
  /** Drops the database, even with connections still open to it. */
  drop: () => Promise<void>;
}

/**
 * A migrated database of its own, named `name`, on the Postgres server at `serverUrl`: for tests
 * and benchmarks that must not see (or disturb) each other's rows. Dropped again if migrating fails.
 */
export async function scratchDatabase(serverUrl: string, name: string): Promise<ScratchDatabase> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    try {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
    } finally {
      await admin.end();
    }
  };
  try {
    await admin.unsafe(`create database "${name}"`);
    const database = await createDatabase({ databaseUrl: url.toString(), dataDir: 'unused' });
    try {
      await database.migrate();
    } finally {
      await database.close();
    }
  } catch (err) {
    await drop();
    throw err;
  }
  return { url: url.toString(), drop };
}
