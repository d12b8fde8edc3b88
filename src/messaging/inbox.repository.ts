import { eq, lt, sql } from 'drizzle-orm';
import { deleteBatch } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { inbox } from './inbox.table.js';

/** Every query of the inbox table. */

/** Has this request message been handled already? */
export async function wasHandled(db: Executor, messageId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: inbox.messageId })
    .from(inbox)
    .where(eq(inbox.messageId, messageId));
  return row !== undefined;
}

/**
 * Records a message as handled, inside the transaction that writes what its handling produced.
 * False when another delivery of the same message was recorded first.
 */
export async function claimMessage(
  tx: Executor,
  messageId: string,
  authenticationId: string,
): Promise<boolean> {
  const claimed = await tx
    .insert(inbox)
    .values({ messageId, authenticationId })
    .onConflictDoNothing()
    .returning({ id: inbox.messageId });
  return claimed.length > 0;
}

/** Retention: deletes up to `limit` entries of messages handled more than `hours` ago. */
export function deleteHandledBefore(db: Executor, hours: number, limit: number): Promise<number> {
  const old = lt(inbox.receivedAt, sql`now() - make_interval(hours => ${hours})`);
  return deleteBatch(db, inbox, sql`${inbox.messageId}`, old, limit);
}
