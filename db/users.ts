import { count, eq } from 'drizzle-orm';
import type { Executor } from './client.js';
import { type Role, type User, users } from './schema.js';

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
