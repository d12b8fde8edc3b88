import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import fp from 'fastify-plugin';
import { LOCAL_ADMIN_ID, removeLocalAdmin, writeLocalAdmin } from '../src/auth/local-admin.js';
import type { Settings } from '../src/config/settings.js';

/**
 * Embedded mode only: once listening, the service writes a short-lived admin token into its
 * data folder (src/auth/local-admin.ts), renewed before it expires, so that `npm run user:*`
 * manages users through this process instead of opening the database it holds.
 */
export default fp<Settings>(
  async (app, { config }) => {
    const ttlMs = config.ACCESS_TOKEN_TTL_SECONDS * 1000;
    let timer: NodeJS.Timeout | undefined;
    const publish = (url: string) => {
      const token = app.jwt.sign({
        sub: LOCAL_ADMIN_ID,
        roles: ['admin'],
        jti: randomUUID(),
        fid: randomUUID(),
      });
      writeLocalAdmin(config.DATA_DIR, { pid: process.pid, url, token });
      timer = setTimeout(() => publish(url), ttlMs / 3);
      timer.unref();
    };
    app.addHook('onListen', async () => {
      const { port, address } = app.server.address() as AddressInfo;
      const wildcard = address === '0.0.0.0' || address === '::';
      const host = wildcard ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;
      publish(`http://${host}:${port}`);
    });
    app.addHook('preClose', async () => {
      clearTimeout(timer);
      removeLocalAdmin(config.DATA_DIR);
    });
  },
  { name: 'local-admin', dependencies: ['auth'] },
);
