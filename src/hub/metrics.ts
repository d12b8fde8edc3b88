import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HubEndpoint } from './client.js';

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface HubMetrics {
  /** One finished call to the hub (retries included) and its outcome. */
  call(endpoint: HubEndpoint, outcome: string, seconds: number): void;
  /** A call refused before reaching the hub (open breaker, full bulkhead). */
  rejected(endpoint: HubEndpoint, outcome: 'breaker_open' | 'overloaded'): void;
  breakerState(endpoint: HubEndpoint, state: BreakerState): void;
  cache(result: 'hit' | 'miss' | 'error'): void;
  /**
   * An ambiguous register/unregister answer (a timeout, a dropped connection, a 5xx) settled by
   * asking validateCitizen: `registered`, `free`, or `unknown` when that failed too.
   */
  settlement(endpoint: HubEndpoint, result: 'registered' | 'free' | 'unknown'): void;
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export function hubMetrics(registry: Registry): HubMetrics {
  const registers = [registry];
  const calls = new Counter({
    name: 'hub_calls_total',
    help: 'GovCarpeta calls by endpoint and outcome (ok, timeout, connection, status, breaker_open, overloaded).',
    labelNames: ['endpoint', 'outcome'],
    registers,
  });
  const duration = new Histogram({
    name: 'hub_call_duration_seconds',
    help: 'GovCarpeta call latency, retries included, by endpoint and outcome.',
    labelNames: ['endpoint', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers,
  });
  const breaker = new Gauge({
    name: 'hub_breaker_state',
    help: 'Circuit breaker state by endpoint: 0 closed, 1 half-open, 2 open.',
    labelNames: ['endpoint'],
    registers,
  });
  const cache = new Counter({
    name: 'hub_cache_lookups_total',
    help: 'Citizen answer cache lookups by result (hit, miss, error).',
    labelNames: ['result'],
    registers,
  });
  const settlements = new Counter({
    name: 'hub_settlements_total',
    help: 'Ambiguous registerCitizen/unregisterCitizen answers settled with validateCitizen, by endpoint and what it said (registered, free, unknown).',
    labelNames: ['endpoint', 'result'],
    registers,
  });
  return {
    call(endpoint, outcome, seconds) {
      calls.inc({ endpoint, outcome });
      duration.observe({ endpoint, outcome }, seconds);
    },
    rejected(endpoint, outcome) {
      calls.inc({ endpoint, outcome });
    },
    breakerState(endpoint, state) {
      breaker.set({ endpoint }, STATE_VALUE[state]);
    },
    cache(result) {
      cache.inc({ result });
    },
    settlement(endpoint, result) {
      settlements.inc({ endpoint, result });
    },
  };
}
