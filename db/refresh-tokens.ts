import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Executor } from './client.js';
import { type RefreshToken, refreshTokens } from './schema.js';

export async function insertRefreshToken(
  db: Executor,
  input: { tokenHash: string; familyId: string; userId: string; expiresAt: Date },
): Promise<void> {
  await db.insert(refreshTokens).values(input);
}

/**
 * Spends a refresh token atomically: only a live, unspent, unexpired token is marked used and
 * returned. Concurrent presentations of one token cannot both succeed.
 */
export async function spendRefreshToken(
  db: Executor,
  tokenHash: string,
  now: Date,
): Promise<RefreshToken | undefined> {
  const [row] = await db
    .update(refreshTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(refreshTokens.tokenHash, tokenHash),
        isNull(refreshTokens.usedAt),
        isNull(refreshTokens.revokedAt),
        gt(refreshTokens.expiresAt, now),
      ),
    )
    .returning();
  return row;
}

export async function findRefreshToken(
  db: Executor,
  tokenHash: string,
): Promise<RefreshToken | undefined> {
  const [row] = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, tokenHash))
    .limit(1);
  return row;
}

/** Revokes every live token of a family; returns how many were revoked. */
export async function revokeFamily(db: Executor, familyId: string, now: Date): Promise<number> {
  const rows = await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id });
  return rows.length;
}
