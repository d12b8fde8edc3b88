import { randomUUID } from 'node:crypto';
import { type SQLWrapper, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
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
 * The row an event describes and the event, written by ONE statement (a data-modifying CTE):
 * atomic like a transaction, but one round trip instead of four (BEGIN, two INSERTs, COMMIT).
 * `insert` is a Drizzle insert builder for the row.
 */
export async function insertWithEvent<K extends PublishedKey>(
  db: Executor,
  insert: SQLWrapper,
  routingKey: K,
  body: EventBody<K>,
  id: string = randomUUID(),
): Promise<string> {
  const event = db.insert(outbox).values({ id, routingKey, payload: body }).onConflictDoNothing();
  await db.execute(sql`with decision as (${insert.getSQL()}) ${event.getSQL()}`);
  return id;
}
