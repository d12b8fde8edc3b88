import { text } from 'node:stream/consumers';
import { MIN_PASSWORD_LENGTH, newUserSchema } from '../auth/users.service.js';
import { ROLES } from '../shared/enums.js';
import { AppError } from '../shared/errors.js';
import { runCommand } from './command.js';
import { usersFromEnv } from './users.js';

const USAGE = `usage: npm run user:create -- --username NAME --role ROLE [--role ROLE...] [--password-stdin]

  roles: ${ROLES.join(', ')}
  --password-stdin  read the password from standard input (e.g. from a secret manager);
                    otherwise a strong password is generated and printed once.
  With the embedded database, while the service runs, the user is created through it.`;

/** `npm run user:create`: creates a user or service account. There is no open signup. */
await runCommand(
  USAGE,
  {
    username: { type: 'string' },
    role: { type: 'string', multiple: true },
    'password-stdin': { type: 'boolean', default: false },
  },
  async (values) => {
    const roles = values.role ?? [];
    const badRoles = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (badRoles.length > 0) console.error(`unknown role(s): ${badRoles.join(', ')}`);
    const password = values['password-stdin']
      ? (await text(process.stdin)).replace(/\r?\n$/, '')
      : undefined;
    const parsed = newUserSchema.safeParse({ username: values.username ?? '', roles, password });
    if (!parsed.success || badRoles.length > 0) {
      for (const issue of parsed.error?.issues ?? []) {
        if (issue.path[0] === 'password') {
          console.error(`password: at least ${MIN_PASSWORD_LENGTH} characters`);
        } else if (issue.path[0] === 'username' && values.username) {
          console.error(`username: ${issue.message}`);
        }
      }
      console.error(USAGE);
      return 2;
    }

    const users = await usersFromEnv();
    try {
      const { user, generatedPassword } = await users.create(parsed.data);
      process.stdout.write(
        `created user ${user.username} (${user.roles.join(', ')}) id=${user.id} in ${users.via}\n`,
      );
      if (generatedPassword) process.stdout.write(`password (shown once): ${generatedPassword}\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof AppError) && !/already exists/.test(String(err))) throw err;
      console.error((err as Error).message);
      return 1;
    } finally {
      await users.close();
    }
  },
);
