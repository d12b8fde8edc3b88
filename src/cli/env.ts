import { createDatabase, type Database } from '../../db/client.js';
import { envSchema, parseEnv } from '../config.js';

/** CLIs need only the database settings, not the server's secrets. */
export function databaseFromEnv(env: NodeJS.ProcessEnv = process.env): Database {
  const { DATABASE_URL, DATA_DIR } = parseEnv(
    envSchema.pick({ DATABASE_URL: true, DATA_DIR: true }),
    env,
  );
  return createDatabase({ databaseUrl: DATABASE_URL, dataDir: DATA_DIR, poolMax: 1 });
}

export async function runCli(main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
