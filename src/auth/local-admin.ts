import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * How a command on this machine manages the users of a running embedded service (which holds
 * the embedded database, so no other process may open it): the service writes an admin access
 * token for a built-in local principal into its data folder, readable by its owner only, and
 * the CLI calls the service's `/api/v1/users` with it. Whoever can read the data folder can read
 * the whole database anyway, so the file grants nothing its reader does not already have.
 */

/** The subject of the local admin's tokens: no user has it, so `/auth/me` refuses it. */
export const LOCAL_ADMIN_ID = '00000000-0000-4000-8000-000000000000';

export interface LocalAdminAccess {
  pid: number;
  /** Where the service answers, on loopback. */
  url: string;
  token: string;
}

export const localAdminFile = (dataDir: string) => join(resolve(dataDir), 'local-admin.json');

export function writeLocalAdmin(dataDir: string, access: LocalAdminAccess): void {
  const file = localAdminFile(dataDir);
  const tmp = `${file}.${randomUUID()}`;
  writeFileSync(tmp, JSON.stringify(access), { mode: 0o600 });
  renameSync(tmp, file);
}

export function readLocalAdmin(dataDir: string): LocalAdminAccess | undefined {
  try {
    const access = JSON.parse(readFileSync(localAdminFile(dataDir), 'utf8')) as LocalAdminAccess;
    return typeof access.url === 'string' && typeof access.token === 'string' ? access : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the file if this process wrote it. */
export function removeLocalAdmin(dataDir: string): void {
  if (readLocalAdmin(dataDir)?.pid === process.pid)
    rmSync(localAdminFile(dataDir), { force: true });
}
