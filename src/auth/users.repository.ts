import { asc, count, eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import type { Role } from '../shared/enums.js';
import { type User, users } from './users.table.js';

/** Every query of the users table. */

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

export async function listUsers(db: Executor): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.username));
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

/** Sets or clears `disabled_at`; returns the user, or undefined when there is no such user. */
export async function setDisabled(
  db: Executor,
  username: string,
  disabledAt: Date | null,
): Promise<User | undefined> {
  const [row] = await db
    .update(users)
    .set({ disabledAt })
    .where(eq(users.username, normalizeUsername(username)))
    .returning();
  return row;
}

/** Deletes a user (its refresh tokens go with it); returns it, or undefined. */
export async function deleteUser(db: Executor, username: string): Promise<User | undefined> {
  const [row] = await db
    .delete(users)
    .where(eq(users.username, normalizeUsername(username)))
    .returning();
  return row;
}
