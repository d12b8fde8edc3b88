import { Redis } from 'ioredis';
import { DataDirBusyError } from '../../db/lock.js';
import { denyUserTokens } from '../auth/sessions.service.js';
import { type NewUser, UserAdmin, type UserView } from '../auth/users.service.js';
import { DEVELOPMENT_SECURITY_LOG_KEY, envSchema, parseEnv } from '../config/env.js';
import { SecurityLog } from '../security/security-log.js';
import { RedisStore } from '../stores/redis-store.js';
import { databaseEnv, openDatabase } from './database.js';
import { type RunningService, runningService } from './service.js';

/** What `npm run user:*` does to users, wherever they are kept. */
export interface Users {
  /** How the change is made, for the command's output. */
  via: string;
  /** Whether access tokens a stopped user holds are refused at once. */
  revokesAccessTokens: boolean;
  create(input: NewUser): Promise<{ user: UserView; generatedPassword?: string }>;
  disable(username: string): Promise<UserView>;
  enable(username: string): Promise<UserView>;
  delete(username: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The users of the configured database. With DATABASE_URL: that database, and Redis (REDIS_URL)
 * to refuse a stopped user's access tokens at once. Embedded: the database folder if no process
 * holds it; if the service holds it, through that service's admin API (src/auth/local-admin.ts),
 * so the change is made where it is kept and seen at once.
 */
export async function usersFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Users> {
  const { DATA_DIR } = databaseEnv(env);
  try {
    return await direct(env);
  } catch (err) {
    if (!(err instanceof DataDirBusyError)) throw err;
    const service = runningService(DATA_DIR, err.holder?.pid);
    if (!service) throw err;
    return throughService(service);
  }
}

async function direct(env: NodeJS.ProcessEnv): Promise<Users> {
  // Redis first: if it is configured but unreachable, change nothing and say so.
  const redis = await redisFromEnv(env);
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase(env);
  } catch (err) {
    await redis?.close();
    throw err;
  }
  const admin = new UserAdmin(
    database.db,
    redis ? (userId) => denyUserTokens(redis.store, userId, redis.accessTtlSeconds) : null,
  );
  // The security log hears of these as of the API's routes (by: `cli`, from this machine).
  const { SECURITY_LOG_KEY } = parseEnv(envSchema.pick({ SECURITY_LOG_KEY: true }), env);
  const securityLog = new SecurityLog({
    db: database.db,
    key: SECURITY_LOG_KEY ?? DEVELOPMENT_SECURITY_LOG_KEY,
    maxPending: 100,
    flushIntervalMs: 1,
  });
  const logged = async <T extends { id: string }>(
    kind: 'user_created' | 'user_disabled' | 'user_enabled' | 'user_deleted',
    done: T,
    detail: Record<string, string> = {},
  ): Promise<T> => {
    securityLog.record({ kind, subject: done.id, source: 'cli', detail: { by: 'cli', ...detail } });
    await securityLog.flush();
    return done;
  };
  return {
    via: database.kind === 'pglite' ? 'the embedded database' : 'the database',
    revokesAccessTokens: admin.revokesAccessTokens,
    create: async (input) => {
      const created = await admin.create(input);
      await logged('user_created', created.user, { roles: created.user.roles.join(',') });
      return created;
    },
    disable: async (username) => logged('user_disabled', await admin.disable(username)),
    enable: async (username) => logged('user_enabled', await admin.enable(username)),
    delete: async (username) => {
      await logged('user_deleted', await admin.delete(username));
    },
    close: async () => {
      await securityLog.close();
      await database.close();
      await redis?.close();
    },
  };
}

async function redisFromEnv(env: NodeJS.ProcessEnv) {
  const { REDIS_URL, REDIS_KEY_PREFIX, ACCESS_TOKEN_TTL_SECONDS } = parseEnv(
    envSchema.pick({ REDIS_URL: true, REDIS_KEY_PREFIX: true, ACCESS_TOKEN_TTL_SECONDS: true }),
    env,
  );
  if (!REDIS_URL) return undefined;
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
    accessTtlSeconds: ACCESS_TOKEN_TTL_SECONDS,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The running embedded service's `/api/v1/users`, as its local admin. */
function throughService(service: RunningService): Users {
  const call = <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    service.call<T>(method, `/users${path}`, body);
  const name = encodeURIComponent;
  return {
    via: `the running service (pid ${service.pid})`,
    revokesAccessTokens: true,
    create: async (input) => {
      const { password, ...user } = await call<UserView & { password?: string }>('POST', '', input);
      return password ? { user, generatedPassword: password } : { user };
    },
    disable: (username) => call('POST', `/${name(username)}/disable`),
    enable: (username) => call('POST', `/${name(username)}/enable`),
    delete: (username) => call('DELETE', `/${name(username)}`),
    close: async () => {},
  };
}
