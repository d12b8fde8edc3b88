import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';
import { affiliationChecks } from '../../src/affiliation/checks.table.js';
import { affiliationChecked } from '../../src/affiliation/events.js';
import { Outbox } from '../../src/messaging/outbox.js';
import { freshDatabase } from '../helpers/database.js';

/** Group commit: the decisions of concurrent requests are written by one statement. */
describe.skipIf(!inject('databaseUrl'))('outbox: decisions of concurrent requests', () => {
  let fresh: Awaited<ReturnType<typeof freshDatabase>>;
  let database: Database;

  beforeAll(async () => {
    fresh = await freshDatabase();
    database = await createDatabase({ databaseUrl: fresh.url, dataDir: 'unused' });
  });
  afterAll(async () => {
    await database?.close();
    await fresh?.drop();
  });

  const decision = (id = randomUUID()) => ({
    id,
    citizenId: `10${Math.floor(Math.random() * 1e8)}`,
    documentType: 'CC' as const,
    affiliationType: null,
    status: 'ELIGIBLE' as const,
    eligible: true,
    reason: 'The citizen is not registered with any operator',
    source: 'hub' as const,
    requestedBy: 'test',
    requestId: randomUUID(),
    checkedAt: new Date(),
  });
  const record = (outbox: Outbox, row: ReturnType<typeof decision>) =>
    outbox.record(affiliationChecks, row, affiliationChecked, {
      event_type: 'affiliation.checked',
      check_id: row.id,
      citizen_id: row.citizenId,
      eligible: true,
      status: 'ELIGIBLE',
      timestamp: row.checkedAt.toISOString(),
    });
  /** The transaction that wrote each decision and each event (rows of one statement share it). */
  const writers = async (ids: string[]) =>
    (await database.db.execute(sql`
      select c.id, c.xmin::text as decision_tx, o.xmin::text as event_tx, o.payload
      from affiliation_checks c join outbox o on o.payload->>'check_id' = c.id::text
      where c.id in ${ids}`)) as unknown as {
      id: string;
      decision_tx: string;
      event_tx: string;
      payload: { check_id: string; citizen_id: string };
    }[];

  it('writes them in a few transactions, each decision with its event', async () => {
    const outbox = new Outbox(database.db);
    let commits = 0;
    outbox.onCommitted(() => {
      commits += 1;
    });
    const rows = Array.from({ length: 60 }, () => decision());
    const eventIds = await Promise.all(rows.map((row) => record(outbox, row)));
    expect(new Set(eventIds).size).toBe(60);

    const written = await writers(rows.map((r) => r.id));
    expect(written).toHaveLength(60);
    for (const w of written) {
      expect(w.event_tx).toBe(w.decision_tx);
      expect(w.payload.citizen_id).toBe(rows.find((r) => r.id === w.id)?.citizenId);
    }
    const transactions = new Set(written.map((w) => w.decision_tx)).size;
    // Queued in the same event-loop turn: one statement, one transaction, one wake-up.
    expect(transactions).toBe(1);
    expect(commits).toBe(1);
  });

  it('writes a lone decision at once, in a transaction of its own', async () => {
    const outbox = new Outbox(database.db);
    const row = decision();
    await record(outbox, row);
    const [written] = await writers([row.id]);
    expect(written?.decision_tx).toBe(written?.event_tx);
  });

  it('fails only the decision that cannot be written; the rest of its batch is written', async () => {
    const outbox = new Outbox(database.db);
    const taken = decision();
    await record(outbox, taken);
    // Queued in the same turn, the three leave together; one reuses an id, so their statement
    // fails, and each is retried alone.
    const batch = [decision(), decision(taken.id), decision()];
    const results = await Promise.allSettled(batch.map((row) => record(outbox, row)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const { reason } = results[1] as PromiseRejectedResult;
    expect(String((reason as Error).cause)).toMatch(/duplicate key/);
    const written = await writers([batch[0]?.id ?? '', batch[2]?.id ?? '']);
    expect(written).toHaveLength(2);
    // The rejected one wrote nothing: its event is not in the outbox either.
    const [{ n }] = (await database.db.execute(
      sql`select count(*)::int as n from outbox where payload->>'check_id' = ${taken.id}`,
    )) as unknown as [{ n: number }];
    expect(n).toBe(1);
  });
});
