import { runCli } from './command.js';
import { openDatabase } from './database.js';

/** `npm run migrate`: applies the SQL migrations in migrations/ (Postgres or embedded PGlite). */
await runCli(async () => {
  const database = await openDatabase();
  try {
    await database.migrate();
    process.stdout.write(`migrations applied (${database.kind})\n`);
    return 0;
  } finally {
    await database.close();
  }
});
