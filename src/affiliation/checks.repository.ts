import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { Cursor } from '../shared/cursor.js';
import { type AffiliationCheck, affiliationChecks } from './checks.table.js';

/** Every query of the affiliation_checks table (decisions are written through the outbox). */

export type NewCheck = typeof affiliationChecks.$inferInsert;

export async function insertCheck(db: Executor, row: NewCheck): Promise<void> {
  await db.insert(affiliationChecks).values(row);
}

/** Newest first, after `cursor`, at most `limit` rows (keyset pagination). */
export function findChecks(
  db: Executor,
  query: { citizenId?: string | undefined; cursor?: Cursor | undefined; limit: number },
): Promise<AffiliationCheck[]> {
  const t = affiliationChecks;
  const where: SQL[] = [];
  if (query.citizenId) where.push(eq(t.citizenId, query.citizenId));
  if (query.cursor) {
    const { at, id } = query.cursor;
    where.push(or(lt(t.checkedAt, at), and(eq(t.checkedAt, at), lt(t.id, id))) as SQL);
  }
  return db
    .select()
    .from(t)
    .where(and(...where))
    .orderBy(desc(t.checkedAt), desc(t.id))
    .limit(query.limit);
}
