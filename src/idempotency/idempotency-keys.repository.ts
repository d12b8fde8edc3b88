import { and, eq, gt, lt, sql } from 'drizzle-orm';
import { deleteBatch } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { type IdempotencyKey, idempotencyKeys } from './idempotency-keys.table.js';

/** Every query of the idempotency_keys table. A key lives `ttlHours` (24). */

export interface KeyId {
  principal: string;
  scope: string;
  key: string;
}

const t = idempotencyKeys;
const ageLimit = (hours: number) => sql`now() - make_interval(hours => ${hours})`;
const byId = (id: KeyId) =>
  and(eq(t.principal, id.principal), eq(t.scope, id.scope), eq(t.key, id.key));

/** The key's stored answer, unless it has expired. */
export async function findLiveKey(
  db: Executor,
  id: KeyId,
  ttlHours: number,
): Promise<IdempotencyKey | undefined> {
  const [row] = await db
    .select()
    .from(t)
    .where(and(byId(id), gt(t.createdAt, ageLimit(ttlHours))));
  return row;
}

/**
 * Stores the key with its answer, inside the decision's transaction. An expired key may be
 * reused; a live one belongs to whoever stored it first: false then (nothing is written).
 */
export async function storeKey(
  tx: Executor,
  row: KeyId & { requestHash: string; statusCode: number; response: unknown },
  ttlHours: number,
): Promise<boolean> {
  const stored = await tx
    .insert(t)
    .values(row)
    .onConflictDoUpdate({
      target: [t.principal, t.scope, t.key],
      set: {
        requestHash: row.requestHash,
        statusCode: row.statusCode,
        response: row.response,
        createdAt: sql`now()`,
      },
      setWhere: sql`${t.createdAt} <= ${ageLimit(ttlHours)}`,
    })
    .returning({ key: t.key });
  return stored.length > 0;
}

/** Retention: deletes up to `limit` keys past their `ttlHours`. */
export function deleteExpiredKeys(db: Executor, ttlHours: number, limit: number): Promise<number> {
  // The primary key is three columns; the row's ctid names it for the batch.
  return deleteBatch(db, t, sql`ctid`, lt(t.createdAt, ageLimit(ttlHours)), limit);
}
