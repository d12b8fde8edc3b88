import { Counter, type Registry } from 'prom-client';

export type CheckCounter = Counter<'status' | 'source'>;

/** affiliation_checks_total, by status and source. */
export function checkMetrics(registry: Registry): CheckCounter {
  return new Counter({
    name: 'affiliation_checks_total',
    help: 'Affiliation checks by status (ELIGIBLE, ALREADY_AFFILIATED, ERROR) and source (hub, cache).',
    labelNames: ['status', 'source'],
    registers: [registry],
  });
}
