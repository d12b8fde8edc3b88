import { randomUUID } from 'node:crypto';
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
