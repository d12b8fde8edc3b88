import type { Db } from '../db/client.js';
import { countUsers, insertUser } from '../db/users.js';
import { generatePassword, hashPassword } from './auth/passwords.js';

/**
 * First start on an empty database: creates an admin and returns its one-time password,
 * which the caller prints once. Returns undefined when any user exists already.
 */
export async function ensureBootstrapAdmin(db: Db, username: string): Promise<string | undefined> {
  if ((await countUsers(db)) > 0) return undefined;
  const password = generatePassword();
  const created = await insertUser(db, {
    username,
    passwordHash: await hashPassword(password),
    roles: ['admin'],
  });
  return created ? password : undefined;
}
