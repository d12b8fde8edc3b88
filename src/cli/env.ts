import { type ParseArgsConfig, parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createDatabase, type Database } from '../../db/client.js';
import { envSchema, parseEnv } from '../config.js';
import { RedisStore } from '../stores/redis-store.js';

/** CLIs need only the database settings, not the server's secrets. */
export function databaseFromEnv(env: NodeJS.ProcessEnv = process.env): Database {
  const { DATABASE_URL, DATA_DIR } = parseEnv(
    envSchema.pick({ DATABASE_URL: true, DATA_DIR: true }),
    env,
  );
  return createDatabase({ databaseUrl: DATABASE_URL, dataDir: DATA_DIR, poolMax: 1 });
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ options: O; strict: true }>
>['values'];

/**
 * Parses the command line strictly (an unknown option fails with the usage), answers `--help`,
 * then runs a command whose result is the exit code.
 */
export async function runCommand<const O extends Options>(
  usage: string,
  options: O,
  main: (values: Values<O>) => Promise<number>,
): Promise<void> {
  await runCli(async () => {
    let values: Values<O> & { help?: boolean };
    try {
      const withHelp = { ...options, help: { type: 'boolean' } } as const;
      values = parseArgs({ options: withHelp, strict: true }).values as typeof values;
    } catch (err) {
      console.error(`${(err as Error).message}\n${usage}`);
      return 2;
    }
    if (values.help) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    return main(values);
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

/**
 * The service's Redis-backed store, for CLIs that revoke tokens; null in embedded mode (the
 * running service's in-memory store is out of a CLI's reach).
 */
export async function storeFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const { REDIS_URL, REDIS_KEY_PREFIX, ACCESS_TOKEN_TTL_SECONDS } = parseEnv(
    envSchema.pick({ REDIS_URL: true, REDIS_KEY_PREFIX: true, ACCESS_TOKEN_TTL_SECONDS: true }),
    env,
  );
  const accessTtlSeconds = ACCESS_TOKEN_TTL_SECONDS;
  if (!REDIS_URL) return { store: null, accessTtlSeconds, close: async () => {} };
  const redis = new Redis(REDIS_URL, {
    keyPrefix: REDIS_KEY_PREFIX,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`Redis is not reachable: ${(err as Error).message}`, { cause: err });
  }
  return {
    store: new RedisStore(redis),
    accessTtlSeconds,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
