import { Counter, type Registry } from 'prom-client';
import { RETAINED_TABLES } from './retention.service.js';

export interface RetentionMetrics {
  deleted: Counter<'table'>;
  failures: Counter<'table'>;
}

/** retention_deleted_rows_total and retention_failures_total, by table (each table at 0). */
export function retentionMetrics(registry: Registry): RetentionMetrics {
  const registers = [registry];
  const deleted = new Counter({
    name: 'retention_deleted_rows_total',
    help: 'Rows deleted by retention, by table (outbox, inbox, idempotency_keys, refresh_tokens).',
    labelNames: ['table'],
    registers,
  });
  const failures = new Counter({
    name: 'retention_failures_total',
    help: 'Retention runs that failed for a table, by table (tried again at the next run).',
    labelNames: ['table'],
    registers,
  });
  for (const table of RETAINED_TABLES) {
    deleted.inc({ table }, 0);
    failures.inc({ table }, 0);
  }
  return { deleted, failures };
}
