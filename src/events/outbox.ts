import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { PgInsertValue, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Executor } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import type { EventBody, PublishedKey } from './schemas.js';

/**
 * Writes an event into the outbox, inside the caller's transaction: it exists exactly when the
 * row it describes does. The relay publishes it after commit. Returns the event id.
 */
export async function enqueueEvent<K extends PublishedKey>(
  tx: Executor,
  routingKey: K,
  body: EventBody<K>,
  id: string = randomUUID(),
): Promise<string> {
  await tx.insert(outbox).values({ id, routingKey, payload: body }).onConflictDoNothing();
  return id;
}

/**
 * Writes a decision row and the event describing it, atomically. With nothing else to write,
 * ONE statement does it (a data-modifying CTE): atomic like a transaction, but one round trip
 * instead of four (BEGIN, two INSERTs, COMMIT). When `alsoInTransaction` is given (e.g. storing
 * an Idempotency-Key), a transaction holds all three. Returns the event id.
 */
export async function recordWithEvent<T extends PgTable, K extends PublishedKey>(
  db: Db,
  table: T,
  row: PgInsertValue<T>,
  routingKey: K,
  body: EventBody<K>,
  alsoInTransaction?: (tx: Executor) => Promise<void>,
): Promise<string> {
  const id = randomUUID();
  if (alsoInTransaction) {
    await db.transaction(async (tx) => {
      await tx.insert(table).values(row);
      await enqueueEvent(tx, routingKey, body, id);
      await alsoInTransaction(tx);
    });
    return id;
  }
  const decision = db.insert(table).values(row);
  const event = db.insert(outbox).values({ id, routingKey, payload: body }).onConflictDoNothing();
  await db.execute(sql`with decision as (${decision.getSQL()}) ${event.getSQL()}`);
  return id;
}
