import type { Redis } from 'ioredis';
import type { Counter, ExpiringStore } from './store.js';

export class RedisStore implements ExpiringStore {
  constructor(private readonly redis: Redis) {}

  async setFlags(keys: string[], ttlMs: number): Promise<void> {
    if (keys.length === 0) return;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const tx = this.redis.multi();
    for (const key of keys) tx.set(key, '1', 'PX', ttl);
    await execOrThrow(tx.exec());
  }

  async anyExists(keys: string[]): Promise<boolean> {
    if (keys.length === 0) return false;
    return (await this.redis.exists(...keys)) > 0;
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    const results = await execOrThrow(
      this.redis.multi().incr(key).pexpire(key, Math.ceil(windowMs), 'NX').pttl(key).exec(),
    );
    return { count: Number(results[0]), resetInMs: Math.max(0, Number(results[2])) };
  }

  async peek(key: string): Promise<Counter> {
    const results = await execOrThrow(this.redis.multi().get(key).pttl(key).exec());
    const count = Number(results[0] ?? 0);
    return { count, resetInMs: count > 0 ? Math.max(0, Number(results[1])) : 0 };
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/** A MULTI either answers every command or fails as a whole. */
async function execOrThrow(pending: Promise<[Error | null, unknown][] | null>): Promise<unknown[]> {
  const results = await pending;
  if (!results) throw new Error('Redis transaction aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
