import { runCommand } from './command.js';
import { usersFromEnv } from './users.js';

const USAGE = `usage: npm run user:disable -- --username NAME [--delete | --enable]

  Disables a user or service account: it can no longer log in or refresh, its refresh tokens
  are revoked and every access token it holds is refused at once (through the Redis denylist,
  or the running embedded service's).
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
    const username = values.username?.trim().toLowerCase() ?? '';
    if (!username || (values.delete && values.enable)) {
      console.error(USAGE);
      return 2;
    }
    const users = await usersFromEnv();
    try {
      if (values.enable) {
        await users.enable(username);
        process.stdout.write(`enabled user ${username} in ${users.via}\n`);
        return 0;
      }
      const how = values.delete ? 'delete' : 'disable';
      await users[how](username);
      process.stdout.write(`${how}d user ${username} in ${users.via}; refresh tokens revoked\n`);
      if (users.revokesAccessTokens) {
        process.stdout.write('access tokens it holds are refused from now on\n');
      } else {
        console.error(
          'REDIS_URL is unset: access tokens already issued to this user stay valid until they ' +
            'expire (at most ACCESS_TOKEN_TTL_SECONDS).',
        );
      }
      return 0;
    } catch (err) {
      if (!/^No user/.test((err as Error).message)) throw err;
      console.error((err as Error).message);
      return 1;
    } finally {
      await users.close();
    }
  },
);
