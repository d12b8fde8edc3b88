/**
 * The few expiring-key operations the service needs from Redis: the token denylist, the
 * failed-login counter and the hub answer cache. Redis when configured (shared by every replica), else process memory.
 */
export interface ExpiringStore {
  /** Sets each key, expiring after ttlMs. */
  setFlags(keys: string[], ttlMs: number): Promise<void>;
  /** Each key's value (null when unset or expired), in order. One round trip. */
  getMany(keys: string[]): Promise<(string | null)[]>;
  /** Adds one to a counter that expires windowMs after its first increment. */
  increment(key: string, windowMs: number): Promise<Counter>;
  peek(key: string): Promise<Counter>;
  delete(key: string): Promise<void>;
  /** A string value, or null when unset or expired. */
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
}

export interface Counter {
  count: number;
  /** Milliseconds until the counter resets; 0 when it is not set. */
  resetInMs: number;
}
