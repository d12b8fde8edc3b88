import { DEVELOPMENT_SECURITY_LOG_KEY, envSchema, parseEnv } from '../config/env.js';
import { firstBreak } from '../security/chain.js';
import { chainInOrder } from '../security/security-events.repository.js';
import { runCommand } from './command.js';
import { openDatabase } from './database.js';

const USAGE = `usage: npm run audit:verify

  Walks the security log (table security_events) in order and checks its hash chain with
  SECURITY_LOG_KEY (the service's). Prints how many events hold; when one does not, names the
  first broken one (its seq) and why: edited, or rows before it changed, removed or inserted.
  Exit code 0 when the chain holds, 1 when it is broken.`;

/** `npm run audit:verify`: checks the security log's hash chain (docs/security.md). */
await runCommand(USAGE, {}, async () => {
  const env = parseEnv(envSchema.pick({ SECURITY_LOG_KEY: true, NODE_ENV: true }), process.env);
  if (env.NODE_ENV === 'production' && env.SECURITY_LOG_KEY === undefined) {
    console.error('SECURITY_LOG_KEY: required in production (the key the service writes with)');
    return 2;
  }
  const database = await openDatabase();
  try {
    const { checked, broken } = await firstBreak(
      env.SECURITY_LOG_KEY ?? DEVELOPMENT_SECURITY_LOG_KEY,
      chainInOrder(database.db),
    );
    if (broken) {
      console.error(`security log BROKEN at seq ${broken.seq}: ${broken.problem}`);
      console.error(`(${checked} events before it hold)`);
      return 1;
    }
    const events = `${checked} event${checked === 1 ? '' : 's'}`;
    process.stdout.write(`security log intact: ${events}, hash chain verified\n`);
    return 0;
  } finally {
    await database.close();
  }
});
