import { createDatabase, type Database } from '../../db/client.js';
import { ConfigError, embeddedDatabaseProblem, envSchema, parseEnv } from '../config/env.js';

/** The settings a command that opens the database reads. */
export function databaseEnv(env: NodeJS.ProcessEnv = process.env) {
  const parsed = parseEnv(
    envSchema.pick({ NODE_ENV: true, DATABASE_URL: true, DATA_DIR: true }),
    env,
  );
  const problem = embeddedDatabaseProblem(parsed);
  if (problem) throw new ConfigError([problem]);
  return parsed;
}

/**
 * Opens the database as the server would: Postgres at DATABASE_URL, or the embedded one (which
 * another process may hold: DataDirBusyError), migrated as the server migrates it at start.
 * Production refuses the embedded database, as the server does.
 */
export async function openDatabase(env: NodeJS.ProcessEnv = process.env): Promise<Database> {
  const { DATABASE_URL, DATA_DIR } = databaseEnv(env);
  const database = await createDatabase({
    databaseUrl: DATABASE_URL,
    dataDir: DATA_DIR,
    poolMax: 1,
  });
  if (database.kind === 'pglite') {
    try {
      await database.migrate();
    } catch (err) {
      await database.close();
      throw err;
    }
  }
  return database;
}
