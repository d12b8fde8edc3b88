import net from 'node:net';
import { afterAll, expect, inject, it } from 'vitest';
import { createDatabase } from '../../db/client.js';
import { withServices } from '../helpers/app.js';

/**
 * postgres.js 3.4.9 starts its array-type fetch on each new connection and drops the promise
 * (porsager/postgres#1192, #1205, #1223): a connection lost during that fetch was an unhandled
 * rejection, which ends a Node process, so a database blip could crash the API. patches/ adds
 * the missing handler. Here a proxy kills the first connection exactly when the driver sends that
 * fetch, answering it as `pg_terminate_backend` does (an ErrorResponse 57P01, then the socket
 * closed), as a database restart does (CI saw it in our Postgres-cut fault test). The driver must
 * reconnect and answer, and nothing may escape unhandled.
 */
withServices('postgres.js: a connection lost while it fetches array types', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('reconnects and answers, with no unhandled rejection', async () => {
    const target = new URL(inject('databaseUrl') as string);
    let killed = 0;
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop);
      upstream.on('error', drop);
      client.on('data', (chunk) => {
        if (killed === 0 && chunk.includes('pg_catalog.pg_type')) {
          killed++;
          client.end(terminated());
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = new URL(target);
    url.hostname = '127.0.0.1';
    url.port = String((proxy.address() as net.AddressInfo).port);
    const database = await createDatabase({
      databaseUrl: url.toString(),
      dataDir: 'unused',
      poolMax: 1,
    });
    try {
      // the first query may fail with the killed backend's error (porsager/postgres#1223)
      await database.ping().catch(() => {});
      await database.ping();
      expect(killed).toBe(1);
      // an unhandled rejection is reported once the microtasks of its turn have run
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      await database.close();
      proxy.close();
    }
  });
});

/** The ErrorResponse Postgres sends a backend it terminates (SQLSTATE 57P01). */
function terminated(): Buffer {
  const fields = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', '57P01'],
    ['M', 'terminating connection due to administrator command'],
  ];
  const body = Buffer.concat([
    ...fields.map(([code, text]) => Buffer.from(`${code}${text}\0`)),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
