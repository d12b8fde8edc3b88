import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { type ScratchDatabase, scratchDatabase } from '../../tools/shared/scratch-database.js';

/**
 * A database of its own, migrated, for tests whose relays must not publish other tests' events
 * (every relay publishes every pending row of its database). Drop it with the returned function.
 */
export async function freshDatabase(): Promise<ScratchDatabase> {
  const base = inject('databaseUrl');
  if (!base) throw new Error('no Postgres');
  return scratchDatabase(base, `ca_test_${inject('runId')}_${randomUUID().slice(0, 8)}`);
}
