import { text } from 'node:stream/consumers';
import { insertUser } from '../../db/users.js';
import { generatePassword, hashPassword } from '../auth/passwords.js';
import { ROLES, type Role } from '../auth/roles.js';
import { databaseFromEnv, runCommand } from './env.js';

const USAGE = `usage: npm run user:create -- --username NAME --role ROLE [--role ROLE...] [--password-stdin]

  roles: ${ROLES.join(', ')}
  --password-stdin  read the password from standard input (e.g. from a secret manager);
                    otherwise a strong password is generated and printed once.`;

const MIN_PASSWORD_LENGTH = 12;

/** `npm run user:create`: creates a user or service account. There is no open signup. */
await runCommand(
  USAGE,
  {
    username: { type: 'string' },
    role: { type: 'string', multiple: true },
    'password-stdin': { type: 'boolean', default: false },
  },
  async (values) => {
    const username = values.username?.trim() ?? '';
    const roles = values.role ?? [];
    const badRoles = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
    if (!/^[A-Za-z0-9._@-]{3,64}$/.test(username) || roles.length === 0 || badRoles.length > 0) {
      if (badRoles.length > 0) console.error(`unknown role(s): ${badRoles.join(', ')}`);
      if (username && !/^[A-Za-z0-9._@-]{3,64}$/.test(username)) {
        console.error('username: 3-64 characters among letters, digits and . _ @ -');
      }
      console.error(USAGE);
      return 2;
    }

    let password: string;
    if (values['password-stdin']) {
      password = (await text(process.stdin)).replace(/\r?\n$/, '');
      if (password.length < MIN_PASSWORD_LENGTH) {
        console.error(`password: at least ${MIN_PASSWORD_LENGTH} characters`);
        return 2;
      }
    } else {
      password = generatePassword();
    }

    const database = databaseFromEnv();
    try {
      const user = await insertUser(database.db, {
        username,
        passwordHash: await hashPassword(password),
        roles: [...new Set(roles)] as Role[],
      });
      if (!user) {
        console.error(`user "${username.toLowerCase()}" already exists`);
        return 1;
      }
      process.stdout.write(
        `created user ${user.username} (${user.roles.join(', ')}) id=${user.id}\n`,
      );
      if (!values['password-stdin']) {
        process.stdout.write(`password (shown once): ${password}\n`);
      }
      return 0;
    } finally {
      await database.close();
    }
  },
);
