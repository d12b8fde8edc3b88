import { Writable } from 'node:stream';
import { DrizzleQueryError, sql } from 'drizzle-orm';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { loggerOptions } from '../../src/app/logger.js';

function logger() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino(loggerOptions({ LOG_LEVEL: 'info' }), sink), lines };
}

describe('logger', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('censors secrets in a child’s bindings and in its lines, where careless code puts them', () => {
    const { log, lines } = logger();
    const child = log.child({ request_id: 'r-1', config: { JWT_SECRET: 'binding-secret' } });
    child.info({ body: { token: 'line-secret' }, authorization: 'Bearer x' }, 'hello');
    const text = lines.join('');
    expect(text).toContain('"request_id":"r-1"');
    expect(text).not.toContain('binding-secret');
    expect(text).not.toContain('line-secret');
    expect(text).not.toContain('Bearer x');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(3);
  });

  // Fastify makes a child logger per request with the request id as its one binding, and pino
  // runs every binding through the redactor of the paths that start with a wildcard. For a string
  // that redactor parsed and walked each wildcard path (4.5 µs a request, 14 % of the bytes the
  // service allocated); the paths are explicit, so a request id is serialised at once.
  it('does not walk the redaction paths for a request id (a primitive binding)', () => {
    const { log } = logger();
    const includes = vi.spyOn(Array.prototype, 'includes');
    log.child({ request_id: 'r-2' });
    const calls = includes.mock.calls.length;
    includes.mockRestore();
    expect(calls).toBe(0);
  });

  // Drizzle's DrizzleQueryError carries the query's parameters (a check's citizen id, a batch of
  // decisions) in its message, its stack and a `params` field.
  it('logs a failed query with its SQL and its cause, never its parameters', async () => {
    const database = await createDatabase({ dataDir: 'memory://' });
    const failure = await database.db
      .execute(sql`select ${'1000123456'}::int + no_such_column`)
      .catch((err: unknown) => err);
    await database.close();
    expect(failure).toBeInstanceOf(DrizzleQueryError);
    expect(String((failure as Error).message)).toContain('1000123456'); // what Drizzle does

    const { log, lines } = logger();
    const wrapped = new Error('check failed', { cause: failure });
    log.error({ err: failure }, 'query failed');
    log.error({ err: wrapped }, 'wrapped');
    const text = lines.join('');
    expect(text).not.toContain('1000123456');
    expect(text).toContain('Failed query: select $1::int + no_such_column');
    expect(text).toContain('no_such_column\\" does not exist');
    // The error itself is untouched (its handlers may still need the parameters).
    expect((failure as DrizzleQueryError).params).toEqual(['1000123456']);
  });
});
