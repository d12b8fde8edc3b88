import { enableUser, normalizeUsername, stopUser } from '../../db/users.js';
import { denyUserTokens } from '../auth/sessions.js';
import { databaseFromEnv, runCommand, storeFromEnv } from './env.js';

const USAGE = `usage: npm run user:disable -- --username NAME [--delete | --enable]

  Disables a user or service account: it can no longer log in or refresh, its refresh tokens
  are revoked and every access token it holds is refused at once (through the Redis denylist).
  --delete  delete the user instead (its refresh tokens go with it); audit rows are kept.
  --enable  enable a disabled user again; tokens from before the disable stay refused.`;

/** `npm run user:disable`: stops a user's access now, not when its access tokens expire. */
await runCommand(
  USAGE,
  {
    username: { type: 'string' },
    delete: { type: 'boolean', default: false },
    enable: { type: 'boolean', default: false },
  },
  async (values) => {
    const username = normalizeUsername(values.username ?? '');
    if (!username || (values.delete && values.enable)) {
      console.error(USAGE);
      return 2;
    }

    const database = databaseFromEnv();
    try {
      if (values.enable) {
        if (!(await enableUser(database.db, username))) return noSuchUser(username);
        process.stdout.write(`enabled user ${username}\n`);
        return 0;
      }
      // Redis first: if it is configured but unreachable, change nothing and say so.
      const redis = await storeFromEnv();
      try {
        const how = values.delete ? 'delete' : 'disable';
        const userId = await stopUser(database.db, username, how);
        if (!userId) return noSuchUser(username);
        process.stdout.write(`${how}d user ${username}; refresh tokens revoked\n`);
        if (!redis.store) {
          console.error(
            'REDIS_URL is unset: access tokens already issued to this user stay valid until they ' +
              `expire (at most ${redis.accessTtlSeconds} s).`,
          );
          return 0;
        }
        await denyUserTokens(redis.store, userId, redis.accessTtlSeconds);
        process.stdout.write('access tokens it holds are refused from now on\n');
        return 0;
      } finally {
        await redis.close();
      }
    } finally {
      await database.close();
    }
  },
);

function noSuchUser(username: string): number {
  console.error(`no user "${username}"`);
  return 1;
}
