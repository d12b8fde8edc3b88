import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { Settings } from '../src/config/settings.js';
import { oncePer } from '../src/shared/timing.js';
import { MemoryStore } from '../src/stores/memory-store.js';
import { RedisStore } from '../src/stores/redis-store.js';
import type { ExpiringStore } from '../src/stores/store.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared Redis connection, or null in embedded mode. */
    redis: Redis | null;
    /** Expiring keys for the denylist and login limits: Redis, else process memory. */
    store: ExpiringStore;
  }
}

export default fp<Settings>(
  async (app, { config, tuning }) => {
    if (!config.REDIS_URL) {
      const store = new MemoryStore();
      app.addHook('onClose', () => store.close());
      app.decorate('redis', null);
      app.decorate('store', store);
      app.log.warn(
        'REDIS_URL is unset: token denylist and rate limits are kept in this process only',
      );
      return;
    }
    const redis = new Redis(config.REDIS_URL, {
      keyPrefix: config.REDIS_KEY_PREFIX,
      lazyConnect: true,
      // Fail fast while disconnected: callers answer 503 instead of hanging.
      enableOfflineQueue: false,
      // Commands issued in the same tick (concurrent requests' revocation checks and cache
      // reads) go out as one pipeline: fewer writes and round trips under load.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      commandTimeout: tuning.redisCommandTimeoutMs,
      connectTimeout: 5000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // ioredis repeats the same error on every reconnect attempt; one line per 10 s is enough.
    const report = oncePer(10_000);
    redis.on('error', (err) => {
      if (report()) app.log.error({ err: { message: err.message } }, 'redis connection error');
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(`Redis is not reachable: ${(err as Error).message}`, { cause: err });
    }
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
    app.decorate('redis', redis);
    app.decorate('store', new RedisStore(redis));
  },
  { name: 'redis' },
);
