import { Counter, Gauge, type Registry } from 'prom-client';
import type { Db } from '../../db/client.js';
import { TRANSFER_DIRECTIONS } from '../shared/enums.js';
import { sharedRead } from '../shared/timing.js';
import { inProgressStats } from './transfers.repository.js';

export type TransferMetrics = ReturnType<typeof transferMetrics>;

/**
 * transfers_total (ended, by direction and outcome), transfer_steps_total (steps taken, by step
 * and outcome), and, read from Postgres at each scrape, transfers_in_progress and
 * transfers_oldest_in_progress_seconds by direction.
 */
export function transferMetrics(registry: Registry, db: Db) {
  const registers = [registry];
  // One query per scrape serves both gauges; a failing database leaves the last values.
  const read = sharedRead(() => inProgressStats(db), []);
  const byDirection = async (gauge: Gauge<'direction'>, pick: 'count' | 'oldestSeconds') => {
    const stats = await read();
    for (const direction of TRANSFER_DIRECTIONS) {
      gauge.set({ direction }, stats.find((s) => s.direction === direction)?.[pick] ?? 0);
    }
  };
  new Gauge({
    name: 'transfers_in_progress',
    help: 'Transfers not yet ended, by direction (OUT: citizens we send away; IN: citizens coming to us).',
    labelNames: ['direction'],
    registers,
    async collect() {
      await byDirection(this, 'count');
    },
  });
  new Gauge({
    name: 'transfers_oldest_in_progress_seconds',
    help: 'Age of the oldest transfer not yet ended, by direction (0 when none).',
    labelNames: ['direction'],
    registers,
    async collect() {
      await byDirection(this, 'oldestSeconds');
    },
  });
  return {
    ended: new Counter({
      name: 'transfers_total',
      help: 'Transfers ended, by direction (OUT, IN) and outcome (COMPLETED, FAILED).',
      labelNames: ['direction', 'outcome'],
      registers,
    }),
    steps: new Counter({
      name: 'transfer_steps_total',
      help: 'Transfer steps taken, by step and outcome (done, retry, failed).',
      labelNames: ['step', 'outcome'],
      registers,
    }),
  };
}
