import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createDatabase, type Database } from '../../db/client.js';
import { refreshTokens } from '../../src/auth/refresh-tokens.table.js';
import { users } from '../../src/auth/users.table.js';
import { idempotencyKeys } from '../../src/idempotency/idempotency-keys.table.js';
import { inbox } from '../../src/messaging/inbox.table.js';
import { outbox } from '../../src/messaging/outbox.table.js';
import { Retention } from '../../src/retention/retention.service.js';
import { buildTestApp, captureLogs } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
const policy = { hours: 168, batchSize: 2 };

/** Which rows retention deletes and which it keeps, on real Postgres and on embedded PGlite. */
function retentionSuite(open: () => Promise<{ database: Database; close: () => Promise<void> }>) {
  let database: Database;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ database, close } = await open());
  });
  afterAll(async () => close?.());

  const event = (name: string, created: number, sent: number | null) => ({
    id: randomUUID(),
    routingKey: 'affiliation.checked',
    payload: { name },
    createdAt: hoursAgo(created),
    sentAt: sent === null ? null : hoursAgo(sent),
  });

  it('deletes only what has done its job, in batches, and keeps the rest', async () => {
    const { db } = database;
    await db.insert(outbox).values([
      ...[1, 2, 3, 4, 5].map((i) => event(`old-sent-${i}`, 200 + i, 199 + i)),
      event('never-sent', 1000, null),
      event('recent', 1, 1),
      event('sent-late', 200, 100), // the broker was away: kept 168 h from its sending
    ]);
    await db.insert(inbox).values([
      { messageId: 'old', authenticationId: randomUUID(), receivedAt: hoursAgo(169) },
      { messageId: 'new', authenticationId: randomUUID(), receivedAt: hoursAgo(167) },
    ]);
    const key = (k: string, created: number) => ({
      principal: 'u',
      scope: 'POST /x',
      key: k,
      requestHash: 'h',
      statusCode: 200,
      response: { citizen_id: '1234567890' },
      createdAt: hoursAgo(created),
    });
    await db.insert(idempotencyKeys).values([key('expired', 25), key('live', 23)]);
    const [user] = await db
      .insert(users)
      .values({ username: `u-${randomUUID()}`, passwordHash: 'x' })
      .returning({ id: users.id });
    const token = (familyId: string, expires: number) => ({
      tokenHash: randomUUID(),
      familyId,
      userId: user?.id as string,
      expiresAt: hoursAgo(expires),
      usedAt: expires > 0 ? hoursAgo(expires + 1) : null,
    });
    const alive = randomUUID();
    const dead = randomUUID();
    await db
      .insert(refreshTokens)
      .values([token(alive, 10), token(alive, -100), token(dead, 10), token(dead, 1)]);

    const retention = new Retention(db, policy);
    expect(await retention.purge()).toEqual({
      deleted: { outbox: 5, inbox: 1, idempotency_keys: 1, refresh_tokens: 2 },
      failed: [],
    });

    const names = (await db.select({ p: outbox.payload }).from(outbox)).map(
      (r) => (r.p as { name: string }).name,
    );
    expect(names.sort()).toEqual(['never-sent', 'recent', 'sent-late']);
    expect((await db.select({ id: inbox.messageId }).from(inbox)).map((r) => r.id)).toEqual([
      'new',
    ]);
    expect(
      (await db.select({ k: idempotencyKeys.key }).from(idempotencyKeys)).map((r) => r.k),
    ).toEqual(['live']);
    // A login with a live token keeps its spent one: reusing it must still revoke the login.
    const families = await db.select({ f: refreshTokens.familyId }).from(refreshTokens);
    expect(families.map((r) => r.f)).toEqual([alive, alive]);

    // Nothing left to do: a second pass deletes nothing.
    expect(Object.values((await retention.purge()).deleted)).toEqual([0, 0, 0, 0]);
  });

  it('stops between batches when asked to', async () => {
    const { db } = database;
    await db.insert(outbox).values([1, 2, 3].map((i) => event(`stop-${i}`, 300, 300)));
    let batches = 0;
    const purged = await new Retention(db, policy).purge(() => batches++ >= 1);
    expect(purged.deleted.outbox).toBe(2); // one batch of 2, then the stop
    expect((await new Retention(db, policy).purge()).deleted.outbox).toBe(1);
  });

  it('goes on with the other tables when one fails, and says which', async () => {
    const { db } = database;
    await db.insert(outbox).values(event('before-the-fault', 300, 300));
    await db.execute(sql`alter table inbox rename to inbox_away`);
    try {
      const { deleted, failed } = await new Retention(db, policy).purge();
      expect(deleted.outbox).toBe(1);
      expect(failed.map((f) => f.table)).toEqual(['inbox']);
      expect(String(failed[0]?.error)).toMatch(/inbox/);
    } finally {
      await db.execute(sql`alter table inbox_away rename to inbox`);
    }
  });
}

describe.skipIf(!inject('databaseUrl'))('retention on Postgres', () => {
  retentionSuite(async () => {
    const fresh = await freshDatabase();
    const database = await createDatabase({ databaseUrl: fresh.url, dataDir: 'unused' });
    return {
      database,
      close: async () => {
        await database.close();
        await fresh.drop();
      },
    };
  });
});

describe('retention on embedded PGlite', () => {
  retentionSuite(async () => {
    const database = await createDatabase({ dataDir: 'memory://' });
    await database.migrate();
    return { database, close: () => database.close() };
  });
});

describe('retention in the API', () => {
  it('runs every RETENTION_INTERVAL_SECONDS, counts what it deleted, logs no row data, and gets past a failing table', async () => {
    const { logger, capture } = captureLogs();
    const app = await buildTestApp(
      {
        DATABASE_URL: '',
        REDIS_URL: '',
        DATA_DIR: 'memory://',
        RETENTION_INTERVAL_SECONDS: '1',
        RETENTION_HOURS: '1',
      },
      { loggerInstance: logger },
    );
    try {
      await app.ready();
      const oldEvent = () =>
        app.db.insert(outbox).values({
          id: randomUUID(),
          routingKey: 'affiliation.checked',
          payload: { citizen_id: '1234567890' },
          createdAt: hoursAgo(2),
          sentAt: hoursAgo(2),
        });
      const metric = async (pattern: RegExp) =>
        pattern.exec((await app.inject({ url: '/metrics' })).body)?.[1];
      const deleted = () => metric(/retention_deleted_rows_total\{table="outbox"\} (\d+)/);
      const waitFor = (check: () => Promise<void>) => vi.waitFor(check, { timeout: 15_000 });

      await oldEvent();
      await waitFor(async () => expect(await deleted()).toBe('1'));
      expect(await app.db.select().from(outbox)).toEqual([]);
      const line = capture.lines.find((l) => l.msg === 'retention: deleted expired rows');
      expect(line).toMatchObject({ deleted: { outbox: 1, inbox: 0 } });
      expect(capture.text()).not.toContain('1234567890');

      // A table that cannot be purged is counted and logged; the others are still purged, and
      // the next run after the repair purges it again.
      await app.db.execute(sql`alter table inbox rename to inbox_away`);
      await oldEvent();
      const failures = () => metric(/retention_failures_total\{table="inbox"\} (\d+)/);
      await waitFor(async () => expect(Number(await failures())).toBeGreaterThan(0));
      await app.db.execute(sql`alter table inbox_away rename to inbox`);
      const warning = capture.lines.find((l) => l.table === 'inbox' && l.level === 40);
      expect(warning?.msg).toMatch(/^retention failed for a table/);
      await waitFor(async () => expect(await deleted()).toBe('2'));
      await app.db
        .insert(inbox)
        .values({ messageId: 'm', authenticationId: randomUUID(), receivedAt: hoursAgo(200) });
      const inboxDeleted = () => metric(/retention_deleted_rows_total\{table="inbox"\} (\d+)/);
      await waitFor(async () => expect(await inboxDeleted()).toBe('1'));
    } finally {
      await app.close();
    }
  });
});
