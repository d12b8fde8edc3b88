import { and, desc, eq, ne } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { CitizenAction } from '../shared/enums.js';
import { type CitizenActionRow, citizenActions } from './citizen-actions.table.js';

/** Every query of the citizen_actions table. */

export type NewAction = Pick<
  CitizenActionRow,
  'id' | 'citizenId' | 'action' | 'channel' | 'messageId' | 'requestedBy' | 'requestId'
>;

/**
 * Writes an action as PENDING. For a request message, one row per message: when the message was
 * seen before (a redelivery), nothing is written and the earlier row is returned.
 */
export async function beginAction(
  db: Executor,
  action: NewAction,
): Promise<{ row: CitizenActionRow; first: boolean }> {
  const [inserted] = await db
    .insert(citizenActions)
    .values({ ...action, outcome: 'PENDING', message: 'asked of the hub' })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { row: inserted, first: true };
  const [earlier] = await db
    .select()
    .from(citizenActions)
    .where(eq(citizenActions.messageId, action.messageId ?? ''));
  if (!earlier) throw new Error(`action ${action.id} neither written nor found`);
  return { row: earlier, first: false };
}

export async function completeAction(
  db: Executor,
  id: string,
  done: Pick<CitizenActionRow, 'outcome' | 'hubStatus' | 'settledBy' | 'attempts' | 'message'>,
  at: Date | null,
): Promise<CitizenActionRow> {
  const [row] = await db
    .update(citizenActions)
    .set({ ...done, completedAt: at })
    .where(eq(citizenActions.id, id))
    .returning();
  if (!row) throw new Error(`no action ${id}`);
  return row;
}

/** Is another action of this kind for this citizen still PENDING (in flight, or it died)? */
export async function hasPendingAction(
  db: Executor,
  citizenId: string,
  action: CitizenAction,
  exceptId: string,
): Promise<boolean> {
  const [row] = await db
    .select({ id: citizenActions.id })
    .from(citizenActions)
    .where(
      and(
        eq(citizenActions.citizenId, citizenId),
        eq(citizenActions.action, action),
        eq(citizenActions.outcome, 'PENDING'),
        ne(citizenActions.id, exceptId),
      ),
    )
    .limit(1);
  return row !== undefined;
}

/** A citizen's actions, newest first. */
export function findActions(
  db: Executor,
  citizenId: string,
  limit: number,
): Promise<CitizenActionRow[]> {
  return db
    .select()
    .from(citizenActions)
    .where(eq(citizenActions.citizenId, citizenId))
    .orderBy(desc(citizenActions.createdAt), desc(citizenActions.id))
    .limit(limit);
}
