import type { ChainableCommander, Redis } from 'ioredis';
import { DependencyError } from '../shared/errors.js';
import type { Counter, ExpiringStore } from './store.js';

/** Every Redis failure leaves as a DependencyError, so callers answer 503 rather than 500. */
export class RedisStore implements ExpiringStore {
  constructor(private readonly redis: Redis) {}

  async setFlags(keys: string[], ttlMs: number): Promise<void> {
    if (keys.length === 0) return;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const tx = this.redis.multi();
    for (const key of keys) tx.set(key, '1', 'PX', ttl);
    await this.exec(tx);
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    if (keys.length === 0) return [];
    return this.guard(this.redis.mget(...keys));
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    const results = await this.exec(
      this.redis.multi().incr(key).pexpire(key, Math.ceil(windowMs), 'NX').pttl(key),
    );
    return { count: Number(results[0]), resetInMs: Math.max(0, Number(results[2])) };
  }

  async peek(key: string): Promise<Counter> {
    const results = await this.exec(this.redis.multi().get(key).pttl(key));
    const count = Number(results[0] ?? 0);
    return { count, resetInMs: count > 0 ? Math.max(0, Number(results[1])) : 0 };
  }

  async delete(key: string): Promise<void> {
    await this.guard(this.redis.del(key));
  }

  async get(key: string): Promise<string | null> {
    return this.guard(this.redis.get(key));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.guard(this.redis.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs))));
  }

  private async guard<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      throw new DependencyError('redis', err);
    }
  }

  /** A MULTI either answers every command or fails as a whole. */
  private async exec(tx: ChainableCommander): Promise<unknown[]> {
    const results = await this.guard(tx.exec());
    if (!results) throw new DependencyError('redis', new Error('transaction aborted'));
    return results.map(([err, value]) => {
      if (err) throw new DependencyError('redis', err);
      return value;
    });
  }
}
