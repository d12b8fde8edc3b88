import { envSchema, parseEnv } from '../config/env.js';
import { RETAINED_TABLES, Retention } from '../retention/retention.service.js';
import { describeError, runCommand } from './command.js';
import { openDatabase } from './database.js';

const USAGE = `usage: npm run retention

  Deletes, once, the rows that have done their job: sent events older than
  RETENTION_HOURS, handled messages older than that, idempotency keys
  past their 24 h, and refresh tokens of logins whose every token has expired. The API does the
  same every RETENTION_INTERVAL_SECONDS; this is for a purge now (after lowering a window) or
  from a scheduled job when the API's is turned off. Audit rows are never deleted.
  Exit code 1 when a table could not be purged (the others still are).`;

/** `npm run retention`: one retention run against DATABASE_URL (or the embedded database). */
await runCommand(USAGE, {}, async () => {
  const windows = parseEnv(envSchema.pick({ RETENTION_HOURS: true }), process.env);
  const database = await openDatabase();
  try {
    const retention = new Retention(database.db, { hours: windows.RETENTION_HOURS });
    const started = performance.now();
    const { deleted, failed } = await retention.purge();
    for (const table of RETAINED_TABLES) {
      process.stdout.write(`${table}: ${deleted[table]} deleted\n`);
    }
    for (const { table, error } of failed) {
      console.error(`${table}: failed: ${describeError(error)}`);
    }
    process.stdout.write(`done in ${Math.round(performance.now() - started)} ms\n`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    await database.close();
  }
});
