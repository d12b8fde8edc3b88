import { and, eq, gt, isNull, lt, notExists, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { deleteBatch } from '../../db/batch.js';
import type { Executor } from '../../db/client.js';
import { type RefreshToken, refreshTokens } from './refresh-tokens.table.js';

/** Every query of the refresh_tokens table. */

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

/** Revokes every live token of a user. */
export async function revokeUserTokens(db: Executor, userId: string, now: Date): Promise<void> {
  await db
    .update(refreshTokens)
    .set({ revokedAt: now })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)));
}

const laterToken = alias(refreshTokens, 'later');

/**
 * Retention: deletes up to `limit` tokens of logins whose every token has expired. While any
 * token of a login is alive, its spent tokens stay, so that reusing one still revokes the login.
 */
export function deleteExpiredFamilies(db: Executor, limit: number): Promise<number> {
  const expired = and(
    lt(refreshTokens.expiresAt, sql`now()`),
    notExists(
      db
        .select({ one: sql`1` })
        .from(laterToken)
        .where(
          and(
            sql`${laterToken.familyId} = ${refreshTokens.familyId}`,
            sql`${laterToken.expiresAt} >= now()`,
          ),
        ),
    ),
  );
  return deleteBatch(db, refreshTokens, sql`${refreshTokens.id}`, expired, limit);
}
