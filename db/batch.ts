import { inArray, type SQL, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Executor } from './client.js';

/**
 * Deletes at most `limit` rows of `table` that match `where`, in one statement, and returns how
 * many went. Rows another transaction holds (a replica deleting the same batch) are skipped, not
 * waited for. `key` names a row: its primary key, or `ctid` for a table with a composite one.
 */
export async function deleteBatch(
  db: Executor,
  table: PgTable,
  key: SQL,
  where: SQL | undefined,
  limit: number,
): Promise<number> {
  const batch = db
    .select({ key })
    .from(table)
    .where(where)
    .limit(limit)
    .for('update', { skipLocked: true });
  const rows = await db.delete(table).where(inArray(key, batch)).returning({ one: sql`1` });
  return rows.length;
}
