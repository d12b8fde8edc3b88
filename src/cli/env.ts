import { createDatabase, type Database } from '../../db/client.js';
import { ConfigError, envSchema } from '../config.js';

/** CLIs need only the database settings, not the server's secrets. */
export function databaseFromEnv(env: NodeJS.ProcessEnv = process.env): Database {
  const parsed = envSchema
    .pick({ DATABASE_URL: true, DATA_DIR: true })
    .safeParse(
      Object.fromEntries(
        Object.entries(env).filter(([k, v]) => ['DATABASE_URL', 'DATA_DIR'].includes(k) && v),
      ),
    );
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return createDatabase({
    databaseUrl: parsed.data.DATABASE_URL,
    dataDir: parsed.data.DATA_DIR,
    poolMax: 1,
  });
}

export async function runCli(main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
