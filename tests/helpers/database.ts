import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDatabase } from '../../db/client.js';

/**
 * A database of its own, migrated, for tests whose relays must not publish other tests' events
 * (every relay publishes every pending row of its database). Drop it with the returned function.
 */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = inject('databaseUrl');
  if (!base) throw new Error('no Postgres');
  const name = `ca_test_${inject('runId')}_${randomUUID().slice(0, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const database = createDatabase({ databaseUrl: url.toString(), dataDir: 'unused' });
  await database.migrate();
  await database.close();
  return {
    url: url.toString(),
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
