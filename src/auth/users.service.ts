import { z } from 'zod';
import type { Db } from '../../db/client.js';
import { ROLES, type Role } from '../shared/enums.js';
import { AppError } from '../shared/errors.js';
import { generatePassword, hashPassword } from './passwords.js';
import { revokeUserTokens } from './refresh-tokens.repository.js';
import {
  countUsers,
  deleteUser,
  insertUser,
  listUsers,
  normalizeUsername,
  setDisabled,
} from './users.repository.js';
import type { User } from './users.table.js';

export const MIN_PASSWORD_LENGTH = 12;

/** A new user or service account, as the admin API and `npm run user:create` take it. */
export const newUserSchema = z.strictObject({
  username: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9._@-]{3,64}$/, '3-64 characters among letters, digits and . _ @ -'),
  roles: z
    .array(z.enum(ROLES))
    .min(1, 'at least one role')
    .transform((roles) => [...new Set(roles)]),
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(1024)
    .optional()
    .describe('Omitted: a strong password is generated and returned once.'),
});
export type NewUser = z.output<typeof newUserSchema>;

export interface UserView {
  id: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  created_at: string;
}

export function userView(user: User): UserView {
  return {
    id: user.id,
    username: user.username,
    roles: user.roles,
    disabled: user.disabledAt !== null,
    created_at: user.createdAt.toISOString(),
  };
}

/**
 * Refuses, from now on, every access token a user holds (the denylist of the running service or
 * of Redis); null where no denylist is reachable (a CLI in embedded mode).
 */
export type AccessRevoker = ((userId: string) => Promise<void>) | null;

const noSuchUser = (username: string) =>
  new AppError('NOT_FOUND', `No user "${normalizeUsername(username)}"`);

/**
 * Users and service accounts: created by an admin (there is no open signup), disabled, enabled
 * or deleted. Disabling or deleting revokes the user's refresh tokens and, through `revokeAccess`,
 * every access token it holds, so it loses access at once.
 */
export class UserAdmin {
  constructor(
    private readonly db: Db,
    private readonly revokeAccess: AccessRevoker,
  ) {}

  /** Whether access tokens are revoked at once (else they live out their lifetime). */
  get revokesAccessTokens(): boolean {
    return this.revokeAccess !== null;
  }

  async list(): Promise<UserView[]> {
    return (await listUsers(this.db)).map(userView);
  }

  /** Creates a user; returns it with its password when one was generated (shown once). */
  async create(input: NewUser): Promise<{ user: UserView; generatedPassword?: string }> {
    const password = input.password ?? generatePassword();
    const user = await insertUser(this.db, {
      username: input.username,
      passwordHash: await hashPassword(password),
      roles: input.roles,
    });
    if (!user) {
      throw new AppError(
        'USER_EXISTS',
        `User "${normalizeUsername(input.username)}" already exists`,
      );
    }
    return input.password
      ? { user: userView(user) }
      : { user: userView(user), generatedPassword: password };
  }

  async disable(username: string, now = new Date()): Promise<UserView> {
    const user = await this.db.transaction(async (tx) => {
      const row = await setDisabled(tx, username, now);
      if (row) await revokeUserTokens(tx, row.id, now);
      return row;
    });
    if (!user) throw noSuchUser(username);
    await this.revokeAccess?.(user.id);
    return userView(user);
  }

  /** Enables a disabled user again; tokens from before the disable stay refused. */
  async enable(username: string): Promise<UserView> {
    const user = await setDisabled(this.db, username, null);
    if (!user) throw noSuchUser(username);
    return userView(user);
  }

  /** Deletes a user with its refresh tokens; audit rows that name it are kept. */
  async delete(username: string): Promise<{ id: string }> {
    const user = await deleteUser(this.db, username);
    if (!user) throw noSuchUser(username);
    await this.revokeAccess?.(user.id);
    return { id: user.id };
  }
}

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
