import { and, count, eq, isNull } from 'drizzle-orm';
import type { Executor } from './client.js';
import { type Role, refreshTokens, type User, users } from './schema.js';

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

export async function findUserByUsername(
  db: Executor,
  username: string,
): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(eq(users.username, normalizeUsername(username)))
    .limit(1);
  return row;
}

export async function findUserById(db: Executor, id: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function countUsers(db: Executor): Promise<number> {
  const [row] = await db.select({ n: count() }).from(users);
  return row?.n ?? 0;
}

/** Inserts a user; returns undefined when the username is taken. */
export async function insertUser(
  db: Executor,
  input: { username: string; passwordHash: string; roles: Role[] },
): Promise<User | undefined> {
  const [row] = await db
    .insert(users)
    .values({ ...input, username: normalizeUsername(input.username) })
    .onConflictDoNothing({ target: users.username })
    .returning();
  return row;
}

export async function updatePasswordHash(db: Executor, id: string, passwordHash: string) {
  await db.update(users).set({ passwordHash }).where(eq(users.id, id));
}

/**
 * Stops a user: disables it (or deletes it with its refresh tokens) and revokes its live refresh
 * tokens, so it can neither log in nor refresh. Returns its id, or undefined when there is no
 * such user. Access tokens it holds are refused separately (`denyUserTokens`).
 */
export async function stopUser(
  db: Executor,
  username: string,
  how: 'disable' | 'delete',
  now = new Date(),
): Promise<string | undefined> {
  const name = normalizeUsername(username);
  if (how === 'delete') {
    const [row] = await db.delete(users).where(eq(users.username, name)).returning();
    return row?.id;
  }
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ disabledAt: now })
      .where(eq(users.username, name))
      .returning({ id: users.id });
    if (!row) return undefined;
    await tx
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.userId, row.id), isNull(refreshTokens.revokedAt)));
    return row.id;
  });
}

/** Enables a disabled user again; false when there is no such user. */
export async function enableUser(db: Executor, username: string): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ disabledAt: null })
    .where(eq(users.username, normalizeUsername(username)))
    .returning({ id: users.id });
  return rows.length > 0;
}
