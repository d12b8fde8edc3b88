import { sql } from 'drizzle-orm';
import { createDatabase } from '../../db/client.js';
import { Retention } from '../../src/retention/retention.service.js';
import { scratchDatabase } from '../shared/scratch-database.js';

/**
 * `npx tsx tools/bench/retention.ts`: what an outbox purge costs in a steady state, on a scratch
 * database it creates and drops.
 *
 * Slots of ROWS events, an "hour" apart. Each cycle inserts a slot, purges what is older than
 * WINDOW slots and vacuums (as autovacuum would), so freed space is reused as in production.
 * The runs of the last MEASURE cycles are timed. INDEX=brin|btree adds an index on the time
 * column, to compare (docs/operations.md#retention). BENCH_DATABASE_URL names the server.
 */

const ROWS = Number(process.env.ROWS ?? 5000);
const WINDOW = Number(process.env.WINDOW ?? 168);
const MEASURE = Number(process.env.MEASURE ?? 10);
const INDEX = process.env.INDEX ?? 'none';
const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const scratch = await scratchDatabase(server, `retention_bench_${Date.now()}`);
const database = await createDatabase({ databaseUrl: scratch.url, dataDir: 'unused' });
try {
  const { db } = database;
  if (INDEX === 'brin') await db.execute(sql`create index on outbox using brin (sent_at)`);
  if (INDEX === 'btree') await db.execute(sql`create index on outbox (sent_at)`);
  const times: number[] = [];
  let deleted = 0;
  for (let slot = 0; slot <= WINDOW + MEASURE; slot++) {
    const at = `now() - interval '10000 hours' + ${slot} * interval '1 hour' + i * (interval '1 hour' / ${ROWS})`;
    await db.execute(
      sql.raw(`insert into outbox (id, routing_key, payload, created_at, sent_at)
        select gen_random_uuid(), 'affiliation.checked',
          '{"event_type":"affiliation.checked","citizen_id":"1234567890","eligible":true}',
          ${at}, ${at}
        from generate_series(1, ${ROWS}) i`),
    );
    const retention = new Retention(db, { hours: 10_000 - (slot - WINDOW) });
    const started = performance.now();
    const result = await retention.purge();
    if (slot > WINDOW) {
      times.push(performance.now() - started);
      deleted += result.deleted.outbox;
    }
    await db.execute(sql`vacuum outbox`);
  }
  process.stdout.write(
    `index ${INDEX}: ${deleted / times.length} of ~${(WINDOW + 1) * ROWS} rows per run, ` +
      `ms per run: ${times.map((t) => t.toFixed(0)).join(' ')}\n`,
  );
} finally {
  await database.close();
  await scratch.drop();
}
