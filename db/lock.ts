import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

/** Who holds an embedded database folder. */
export interface Holder {
  pid: number;
  host: string;
  /** The holder's command line, shortened: what a person recognises (`node dist/src/server.js`). */
  command: string;
  since: string;
}

/** Another live process has the embedded database open. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: Holder | undefined,
  ) {
    const who = holder
      ? `process ${holder.pid} (${holder.command}) on ${holder.host}, since ${holder.since}`
      : 'another process (starting up)';
    super(
      `The embedded database in ${dir} is open in ${who}. One process at a time can open it: ` +
        'stop that one first, or point this one at another DATA_DIR.',
    );
    this.name = 'DataDirBusyError';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return Number.isInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined; // gone meanwhile, or being written
  }
}

function commandLine(): string {
  // A script path from its first dist/ or src/ on: `node dist/src/server.js`.
  const args = process.argv.slice(1).map((a) => a.replace(/^.*?\/(dist|src)\//, '$1/'));
  return ['node', ...args].join(' ').slice(0, 200);
}

/**
 * Takes the lock file of an embedded database folder for this process, or throws
 * DataDirBusyError naming the process that has it. PGlite keeps the database in this process's
 * memory and writes it back to the folder, so two processes on one folder lose each other's
 * writes (a user "created" by a CLI while the server runs was gone after a restart).
 *
 * A lock file, created exclusively, holds the owner's pid; a lock whose owner is no longer alive
 * on this host (a crash, a SIGKILL) is taken over. Liveness is asked of the kernel rather than
 * read from a heartbeat (as proper-lockfile does): PGlite runs on the event loop, so a busy
 * owner would miss its heartbeats and look stale while it still writes. Returns the release.
 */
export function lockDataDir(dir: string, lockFile: string): () => void {
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    command: commandLine(),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(lockFile, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      const release = () => {
        process.off('exit', release);
        if (readHolder(lockFile)?.pid === me.pid) unlinkSync(lockFile);
      };
      process.on('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(lockFile);
    if (!holder || holder.host !== me.host || alive(holder.pid)) {
      throw new DataDirBusyError(dir, holder);
    }
    takeOver(lockFile, holder);
  }
  throw new DataDirBusyError(dir, readHolder(lockFile));
}

/**
 * Removes the lock of a dead owner. The file is renamed away first, which only one process can
 * do; if what was renamed is not the dead owner's (another process took over meanwhile), it is
 * put back.
 */
function takeOver(lockFile: string, dead: Holder): void {
  const tombstone = `${lockFile}.${randomUUID()}`;
  try {
    renameSync(lockFile, tombstone);
  } catch {
    return; // someone else moved it: look again
  }
  const moved = readHolder(tombstone);
  if (moved && (moved.pid !== dead.pid || moved.since !== dead.since)) {
    try {
      linkSync(tombstone, lockFile);
    } catch {
      // a third process holds it now; the next attempt says so
    }
  }
  unlinkSync(tombstone);
}
