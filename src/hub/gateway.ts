import CircuitBreaker from 'opossum';
import type { ExpiringStore } from '../stores/store.js';
import {
  type CitizenAnswer,
  type DocumentAnswer,
  type HubClient,
  type HubEndpoint,
  HubError,
} from './client.js';
import type { BreakerState, HubMetrics } from './metrics.js';

/**
 * What the rest of the service calls: the hub client behind a circuit breaker and a bulkhead per
 * endpoint, with single-flight and a short answer cache for citizen lookups.
 *
 * The breaker is opossum (nodeshift): a rolling window of outcomes, a percentage threshold with a
 * minimum volume, one trial call when half-open and a semaphore for the bulkhead. Writing those
 * well (bucketed windows, the half-open race) is more code than it looks, and opossum is small and
 * has no dependencies.
 */

export interface BreakerOptions {
  errorPercent: number;
  minCalls: number;
  windowMs: number;
  resetMs: number;
  maxConcurrent: number;
}

export interface HubGatewayOptions {
  breaker: BreakerOptions;
  /** Where citizen answers are reused from (Redis or memory); null turns the cache off. */
  cache: ExpiringStore | null;
  cacheTtlMs: number;
  /** The cache key of a citizen: a keyed hash, so Redis never holds raw ids. */
  cacheKey: (citizenId: string) => string;
  metrics: HubMetrics;
  /** A failing cache is not an outage: the hub is asked instead and this is told. */
  onCacheError?: (err: unknown) => void;
}

export interface CitizenLookup extends CitizenAnswer {
  /** `hub`: asked now (possibly shared with concurrent callers); `cache`: reused. */
  source: 'hub' | 'cache';
}

export interface DocumentInput {
  citizenId: string;
  documentUrl: string;
  documentTitle: string;
}

export class HubGateway {
  private readonly validate: CircuitBreaker<[string], CitizenAnswer>;
  private readonly authenticate: CircuitBreaker<[DocumentInput], DocumentAnswer>;
  private readonly inflight = new Map<string, Promise<CitizenAnswer>>();
  private readonly openedAt = new Map<HubEndpoint, number>();

  constructor(
    client: HubClient,
    private readonly o: HubGatewayOptions,
  ) {
    this.validate = this.breaker('validateCitizen', (id: string) => client.validateCitizen(id));
    this.authenticate = this.breaker('authenticateDocument', (input: DocumentInput) =>
      client.authenticateDocument(input),
    );
  }

  /** Is this citizen registered with an operator? Throws HubError when the hub cannot say. */
  async checkCitizen(citizenId: string): Promise<CitizenLookup> {
    const key = this.cacheKey(citizenId);
    const cached = await this.fromCache(key);
    if (cached) return { ...cached, source: 'cache' };
    let pending = this.inflight.get(citizenId);
    if (!pending) {
      pending = this.fire('validateCitizen', this.validate, citizenId).finally(() =>
        this.inflight.delete(citizenId),
      );
      this.inflight.set(citizenId, pending);
      void pending.then(
        (answer) => this.toCache(key, answer),
        () => {},
      );
    }
    return { ...(await pending), source: 'hub' };
  }

  /** Asks the hub to certify a document. Throws HubError when the hub cannot say. */
  authenticateDocument(input: DocumentInput): Promise<DocumentAnswer> {
    return this.fire('authenticateDocument', this.authenticate, input);
  }

  breakerState(endpoint: HubEndpoint): BreakerState {
    const b = endpoint === 'validateCitizen' ? this.validate : this.authenticate;
    return b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';
  }

  close(): void {
    this.validate.shutdown();
    this.authenticate.shutdown();
  }

  private breaker<A extends unknown[], R>(
    endpoint: HubEndpoint,
    action: (...args: A) => Promise<R>,
  ): CircuitBreaker<A, R> {
    const b = this.o.breaker;
    const breaker = new CircuitBreaker(action, {
      timeout: false, // the client's own deadline applies
      errorThresholdPercentage: b.errorPercent,
      volumeThreshold: b.minCalls,
      rollingCountTimeout: b.windowMs,
      rollingCountBuckets: 10,
      resetTimeout: b.resetMs,
      capacity: b.maxConcurrent,
    });
    const set = (state: BreakerState) => this.o.metrics.breakerState(endpoint, state);
    breaker.on('open', () => {
      this.openedAt.set(endpoint, Date.now());
      set('open');
    });
    breaker.on('halfOpen', () => set('half_open'));
    breaker.on('close', () => set('closed'));
    set('closed');
    return breaker;
  }

  private async fire<A extends unknown[], R>(
    endpoint: HubEndpoint,
    breaker: CircuitBreaker<A, R>,
    ...args: A
  ): Promise<R> {
    try {
      return await breaker.fire(...args);
    } catch (err) {
      if (err instanceof HubError) throw err;
      const code = (err as { code?: string }).code;
      if (code === 'EOPENBREAKER') {
        this.o.metrics.rejected(endpoint, 'breaker_open');
        const reopensIn = (this.openedAt.get(endpoint) ?? 0) + this.o.breaker.resetMs - Date.now();
        const retryAfter = Math.max(1, Math.ceil(reopensIn / 1000));
        throw new HubError(endpoint, 'breaker_open', undefined, err, retryAfter);
      }
      if (code === 'ESEMLOCKED') {
        this.o.metrics.rejected(endpoint, 'overloaded');
        throw new HubError(endpoint, 'overloaded', undefined, err, 1);
      }
      throw new HubError(endpoint, 'connection', undefined, err);
    }
  }

  /** The cache key (a keyed hash, computed once per lookup), or null when the cache is off. */
  private cacheKey(citizenId: string): string | null {
    return this.o.cache && this.o.cacheTtlMs > 0 ? this.o.cacheKey(citizenId) : null;
  }

  private async fromCache(key: string | null): Promise<CitizenAnswer | null> {
    if (!this.o.cache || key === null) return null;
    try {
      const raw = await this.o.cache.get(key);
      this.o.metrics.cache(raw ? 'hit' : 'miss');
      if (!raw) return null;
      const { r, m } = JSON.parse(raw) as { r: boolean; m: string };
      return { registered: r, message: m };
    } catch (err) {
      this.o.metrics.cache('error');
      this.o.onCacheError?.(err);
      return null;
    }
  }

  private async toCache(key: string | null, answer: CitizenAnswer): Promise<void> {
    if (!this.o.cache || key === null) return;
    const value = JSON.stringify({ r: answer.registered, m: answer.message });
    try {
      await this.o.cache.set(key, value, this.o.cacheTtlMs);
    } catch (err) {
      this.o.onCacheError?.(err);
    }
  }
}
