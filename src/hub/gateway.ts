import CircuitBreaker from 'opossum';
import type { ExpiringStore } from '../stores/store.js';
import { Bulkhead, BulkheadFull } from './bulkhead.js';
import {
  type CitizenAnswer,
  type CitizenRegistration,
  type DocumentAnswer,
  HUB_ENDPOINTS,
  type HubClient,
  type HubEndpoint,
  HubError,
  type OperatorApplication,
  type RegistrationAnswer,
  type TransferEndpoints,
  type UnregistrationAnswer,
} from './client.js';
import { type Directory, parseDirectory } from './directory.js';
import type { BreakerState, HubMetrics } from './metrics.js';

/**
 * What the rest of the service calls: the hub client behind a circuit breaker and a bulkhead per
 * endpoint, with single-flight and a short answer cache for citizen lookups, and the settlement
 * of ambiguous registrations (below).
 *
 * The breaker is opossum (nodeshift): a rolling window of outcomes, a percentage threshold with a
 * minimum volume and one trial call when half-open. Writing those well (bucketed windows, the
 * half-open race) is more code than it looks, and opossum is small and has no dependencies. The
 * bulkhead is ours (src/hub/bulkhead.ts): opossum's refuses at once when full, ours queues.
 */

export interface BreakerOptions {
  errorPercent: number;
  minCalls: number;
  windowMs: number;
  resetMs: number;
  /** Calls in flight at most, per endpoint (HUB_MAX_CONCURRENT). */
  maxConcurrent: number;
  /** Calls that may wait for a slot beyond those, and how long (TUNING.hub.bulkhead). */
  maxQueued: number;
  maxWaitMs: number;
}

/** The breaker's and bulkhead's options from the tuning and HUB_MAX_CONCURRENT. */
export function gatewayLimits(
  hub: {
    breaker: Omit<BreakerOptions, 'maxConcurrent' | 'maxQueued' | 'maxWaitMs'>;
    bulkhead: { queuedPerSlot: number; maxWaitMs: number };
  },
  maxConcurrent: number,
): BreakerOptions {
  return {
    ...hub.breaker,
    maxConcurrent,
    maxQueued: maxConcurrent * hub.bulkhead.queuedPerSlot,
    maxWaitMs: hub.bulkhead.maxWaitMs,
  };
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

export interface UnregisterInput {
  citizenId: string;
  operatorId: string;
  operatorName: string;
}

/** A registration or unregistration, and how its outcome was known. */
export interface Settled<A> {
  answer: A;
  /**
   * `validateCitizen` when the hub's own answer was ambiguous (a timeout, a dropped connection, a
   * 5xx: the change may or may not have happened) and asking validateCitizen settled it.
   */
  settledBy: 'validateCitizen' | null;
  /** The status of the ambiguous answer, when there was one. */
  ambiguousStatus: number | null;
  /** Calls made to registerCitizen/unregisterCitizen: 2 when the first had not happened. */
  attempts: number;
}

/**
 * Does validateCitizen's sentence name this operator? Compared without case, accents or extra
 * spaces: the hub's sentences and its directory's names are not spelled with care.
 */
export function names(sentence: string, operatorName: string): boolean {
  const fold = (t: string) =>
    t.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
  const name = fold(operatorName);
  return name.length > 0 && fold(sentence).includes(name);
}

/** The failures after which the hub may have done what it was asked: a call reached it. */
const ambiguous = (err: HubError) =>
  err.failure === 'timeout' || err.failure === 'connection' || err.failure === 'status';

type Breakers = { [E in HubEndpoint]: CircuitBreaker<never[], unknown> };
type Bulkheads = { [E in HubEndpoint]: Bulkhead };

export class HubGateway {
  private readonly breakers: Breakers;
  private readonly bulkheads: Bulkheads;
  private readonly inflight = new Map<string, Promise<CitizenAnswer>>();
  private readonly openedAt = new Map<HubEndpoint, number>();

  constructor(
    client: HubClient,
    private readonly o: HubGatewayOptions,
  ) {
    const actions: { [E in HubEndpoint]: (...args: never[]) => Promise<unknown> } = {
      validateCitizen: (id: string) => client.validateCitizen(id),
      authenticateDocument: (input: DocumentInput) => client.authenticateDocument(input),
      registerCitizen: (input: CitizenRegistration) => client.registerCitizen(input),
      unregisterCitizen: (input: UnregisterInput) => client.unregisterCitizen(input),
      getOperators: () => client.getOperators(),
      registerOperator: (input: OperatorApplication) => client.registerOperator(input),
      registerTransferEndPoint: (input: TransferEndpoints) =>
        client.registerTransferEndPoint(input),
    };
    this.breakers = Object.fromEntries(
      HUB_ENDPOINTS.map((endpoint) => [endpoint, this.breaker(endpoint, actions[endpoint])]),
    ) as Breakers;
    const { maxConcurrent, maxQueued, maxWaitMs } = o.breaker;
    this.bulkheads = Object.fromEntries(
      HUB_ENDPOINTS.map((e) => [e, new Bulkhead({ maxConcurrent, maxQueued, maxWaitMs })]),
    ) as Bulkheads;
  }

  /** Is this citizen registered with an operator? Throws HubError when the hub cannot say. */
  async checkCitizen(citizenId: string): Promise<CitizenLookup> {
    const key = this.cacheKey(citizenId);
    const cached = await this.fromCache(key);
    if (cached) return { ...cached, source: 'cache' };
    let pending = this.inflight.get(citizenId);
    if (!pending) {
      pending = this.fire<CitizenAnswer>('validateCitizen', citizenId).finally(() =>
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

  /**
   * What validateCitizen says now, past the answer cache (a transfer decides on it). Throws
   * HubError when the hub cannot say.
   */
  validateNow(citizenId: string): Promise<CitizenAnswer> {
    return this.fire('validateCitizen', citizenId);
  }

  /** Asks the hub to certify a document. Throws HubError when the hub cannot say. */
  authenticateDocument(input: DocumentInput): Promise<DocumentAnswer> {
    return this.fire('authenticateDocument', input);
  }

  /**
   * Registers a citizen with an operator. registerCitizen is never sent blindly twice: when its
   * answer is ambiguous (a timeout, a dropped connection, a 5xx: it may have been done),
   * validateCitizen settles what happened. Registered with us (its sentence names the operator):
   * done. Registered with another operator: already registered. Free: asked once more; and if that
   * says "already registered", the first attempt may have landed late, so validateCitizen is asked
   * again. Throws HubError when the hub cannot say. The answer cache forgets the citizen.
   */
  async registerCitizen(
    input: CitizenRegistration,
    /** An earlier attempt of ours may have landed (its process died before the answer). */
    earlierAttempt = false,
  ): Promise<Settled<RegistrationAnswer>> {
    const ours = (state: CitizenAnswer) => names(state.message, input.operatorName);
    const settled = (state: CitizenAnswer, n: number, status: number | null) => ({
      answer: {
        outcome: ours(state) ? ('registered' as const) : ('already_registered' as const),
        status: status ?? 0,
        message: state.message,
      },
      settledBy: 'validateCitizen' as const,
      ambiguousStatus: status,
      attempts: n,
    });
    let ambiguousStatus: number | null = null;
    try {
      for (let n = 1; ; n++) {
        let answer: RegistrationAnswer;
        try {
          answer = await this.fire<RegistrationAnswer>('registerCitizen', input);
        } catch (err) {
          const state = await this.settle('registerCitizen', input.citizenId, err);
          ambiguousStatus = (err as HubError).status ?? 0;
          if (state.registered) return settled(state, n, ambiguousStatus);
          if (n >= 2) throw err;
          continue;
        }
        if (
          answer.outcome === 'already_registered' &&
          (ambiguousStatus !== null || earlierAttempt)
        ) {
          const state = await this.settle('registerCitizen', input.citizenId);
          if (state.registered && ours(state))
            return settled(state, n, ambiguousStatus ?? answer.status);
        }
        const settledBy = ambiguousStatus === null ? null : ('validateCitizen' as const);
        return { answer, settledBy, ambiguousStatus, attempts: n };
      }
    } finally {
      await this.forget(input.citizenId);
    }
  }

  /**
   * Unregisters a citizen, settled like registerCitizen: when the answer is ambiguous,
   * validateCitizen says whether it is still registered with us (then once more) or not (done).
   */
  async unregisterCitizen(input: UnregisterInput): Promise<Settled<UnregistrationAnswer>> {
    try {
      for (let n = 1; ; n++) {
        try {
          const answer = await this.fire<UnregistrationAnswer>('unregisterCitizen', input);
          return { answer, settledBy: null, ambiguousStatus: null, attempts: n };
        } catch (err) {
          const state = await this.settle('unregisterCitizen', input.citizenId, err);
          const status = (err as HubError).status ?? 0;
          if (!state.registered || !names(state.message, input.operatorName)) {
            const answer = { outcome: 'unregistered' as const, status, message: state.message };
            return { answer, settledBy: 'validateCitizen', ambiguousStatus: status, attempts: n };
          }
          if (n >= 2) throw err;
        }
      }
    } finally {
      await this.forget(input.citizenId);
    }
  }

  /**
   * What validateCitizen says now (past the answer cache), after `failure` (when given: a call
   * that failed) left it unknown whether a registration changed. A failure that sent nothing
   * (open breaker, full bulkhead) or is no HubError is thrown as it is, as is `failure` when
   * validateCitizen cannot answer either: then nothing is decided and nothing sent again.
   */
  private async settle(
    endpoint: 'registerCitizen' | 'unregisterCitizen',
    citizenId: string,
    failure?: unknown,
  ): Promise<CitizenAnswer> {
    if (failure !== undefined && (!(failure instanceof HubError) || !ambiguous(failure))) {
      throw failure;
    }
    try {
      const state = await this.fire<CitizenAnswer>('validateCitizen', citizenId);
      this.o.metrics.settlement(endpoint, state.registered ? 'registered' : 'free');
      return state;
    } catch (err) {
      this.o.metrics.settlement(endpoint, 'unknown');
      throw failure ?? err;
    }
  }

  /** The operator directory, read tolerantly (src/hub/directory.ts). Throws HubError. */
  async directory(): Promise<Directory> {
    return parseDirectory(await this.fire<unknown>('getOperators'));
  }

  /** Registers an operator: never retried (the directory has no delete). Throws HubError. */
  registerOperator(input: OperatorApplication): Promise<{ operatorId?: string }> {
    return this.fire('registerOperator', input);
  }

  /** Registers an operator's transfer endpoints (idempotent, retried). Throws HubError. */
  registerTransferEndPoint(input: TransferEndpoints): Promise<void> {
    return this.fire('registerTransferEndPoint', input);
  }

  breakerState(endpoint: HubEndpoint): BreakerState {
    const b = this.breakers[endpoint];
    return b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';
  }

  close(): void {
    for (const breaker of Object.values(this.breakers)) breaker.shutdown();
  }

  /** Drops a citizen's cached answer: its registration has just changed (or may have). */
  private async forget(citizenId: string): Promise<void> {
    const key = this.cacheKey(citizenId);
    if (!this.o.cache || key === null) return;
    await this.o.cache.delete(key).catch((err: unknown) => this.o.onCacheError?.(err));
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

  private async fire<R>(endpoint: HubEndpoint, ...args: unknown[]): Promise<R> {
    const breaker = this.breakers[endpoint];
    const call = () => breaker.fire(...(args as never[])) as Promise<R>;
    try {
      // An open breaker refuses at once, without taking a slot or waiting for one.
      return breaker.opened ? await call() : await this.bulkheads[endpoint].run(call);
    } catch (err) {
      if (err instanceof HubError) throw err;
      if (err instanceof BulkheadFull) {
        this.o.metrics.rejected(endpoint, 'overloaded');
        throw new HubError(endpoint, 'overloaded', undefined, err, 1);
      }
      const code = (err as { code?: string }).code;
      if (code === 'EOPENBREAKER') {
        this.o.metrics.rejected(endpoint, 'breaker_open');
        const reopensIn = (this.openedAt.get(endpoint) ?? 0) + this.o.breaker.resetMs - Date.now();
        const retryAfter = Math.max(1, Math.ceil(reopensIn / 1000));
        throw new HubError(endpoint, 'breaker_open', undefined, err, retryAfter);
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
