import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loggerOptions } from '../../src/logger.js';

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

  it('censors secrets in a child’s bindings and in its lines, two levels deep', () => {
    const { log, lines } = logger();
    const child = log.child({ request_id: 'r-1', ctx: { password: 'binding-secret' } });
    child.info({ user: { token: 'line-secret' }, authorization: 'Bearer x' }, 'hello');
    const text = lines.join('');
    expect(text).toContain('"request_id":"r-1"');
    expect(text).not.toContain('binding-secret');
    expect(text).not.toContain('line-secret');
    expect(text).not.toContain('Bearer x');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(3);
  });

  // patches/@pinojs+redact+0.4.0.patch: Fastify makes a child logger per request with the request
  // id as its one binding, and pino runs every binding through the wildcard paths' redactor. For
  // a string that redactor parsed each of its 30 paths and allocated for each (4.5 µs a request,
  // 14 % of the bytes the service allocated); patched, a primitive is serialised at once.
  it('does not walk the redaction paths for a request id (a primitive binding)', () => {
    const { log } = logger();
    const includes = vi.spyOn(Array.prototype, 'includes');
    log.child({ request_id: 'r-2' });
    const calls = includes.mock.calls.length;
    includes.mockRestore();
    expect(calls).toBe(0);
  });
});
