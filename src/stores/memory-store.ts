import type { Counter, ExpiringStore } from './store.js';

interface Entry {
  count: number;
  expiresAt: number;
  value?: string;
}

/**
 * Process-local stand-in for Redis in embedded mode. Bounded: past maxEntries the entries
 * closest to expiry go first, and expired ones are swept every minute.
 */
export class MemoryStore implements ExpiringStore {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  async setFlags(keys: string[], ttlMs: number): Promise<void> {
    for (const key of keys) this.put(key, { count: 1, expiresAt: this.now() + ttlMs });
  }

  async getMany(keys: string[]): Promise<(string | null)[]> {
    return keys.map((key) => {
      const entry = this.live(key);
      return entry ? (entry.value ?? String(entry.count)) : null;
    });
  }

  async increment(key: string, windowMs: number): Promise<Counter> {
    const entry = this.live(key) ?? { count: 0, expiresAt: this.now() + windowMs };
    entry.count += 1;
    this.put(key, entry);
    return this.counter(entry);
  }

  async peek(key: string): Promise<Counter> {
    const entry = this.live(key);
    return entry ? this.counter(entry) : { count: 0, resetInMs: 0 };
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.put(key, { count: 0, value, expiresAt: this.now() + ttlMs });
  }

  close(): void {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private counter(entry: Entry): Counter {
    return { count: entry.count, resetInMs: Math.max(0, entry.expiresAt - this.now()) };
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, entry: Entry): void {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      this.sweep();
      if (this.entries.size >= this.maxEntries) this.evictSoonestExpiring();
    }
    this.entries.set(key, entry);
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }

  private evictSoonestExpiring(): void {
    let victim: string | undefined;
    let soonest = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt < soonest) {
        soonest = entry.expiresAt;
        victim = key;
      }
    }
    if (victim !== undefined) this.entries.delete(victim);
  }
}
