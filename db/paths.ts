import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json, found from this file whether it runs from db/ or dist/db/. */
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the running code');
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot();
/** The SQL migrations drizzle-kit writes (`npm run db:generate`), applied by `migrate()`. */
export const migrationsFolder = join(projectRoot, 'migrations');
