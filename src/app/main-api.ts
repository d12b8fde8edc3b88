import closeWithGrace from 'close-with-grace';
import { ensureBootstrapAdmin } from '../auth/users.service.js';
import { loadConfig } from '../config/env.js';
import { TUNING } from '../config/tuning.js';
import { currentTracing } from '../telemetry/start.js';
import { buildApp } from './api.js';
import { exitOnStartFailure } from './base.js';
import { listenOnSockets } from './listen.js';

/** The API process (src/server.ts starts it): parse config, build, listen, close on signals. */
async function main() {
  const config = loadConfig();
  const app = await buildApp(config);

  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an unexpected error');
    else app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    await app.close();
    await currentTracing()?.shutdown();
    app.log.info('closed');
  });

  if (config.jwtSecretGenerated) {
    app.log.warn('JWT_SECRET is unset: using a random secret, so tokens end with this process');
  }
  const admin = TUNING.bootstrapAdminUsername;
  const password = config.embeddedDatabase ? await ensureBootstrapAdmin(app.db, admin) : undefined;
  const sockets = await listenOnSockets(app, {
    host: config.HOST,
    port: config.PORT,
    sockets: TUNING.listenSockets,
  });
  // listenOnSockets() opens fewer than asked only where the runtime cannot share a port.
  if (sockets < TUNING.listenSockets) {
    app.log.info(
      { node: process.version },
      'listening on one socket: this Node.js cannot share a port between sockets (22.12+ can)',
    );
  } else if (sockets > 1) {
    app.log.info({ sockets }, 'listening on several sockets of one port (SO_REUSEPORT)');
  }

  const base = `http://localhost:${config.PORT}`;
  if (password) {
    // Printed once, on purpose, to the terminal: never through the logger.
    process.stdout.write(
      [
        '',
        '  First start: an admin user was created. Its password is shown only now.',
        `    username: ${admin}`,
        `    password: ${password}`,
        '',
        '  Log in:',
        `    curl -s -X POST ${base}/api/v1/auth/login -H 'content-type: application/json' \\`,
        `      -d '{"username":"${admin}","password":"<password>"}'`,
        `  API docs: ${base}/docs`,
        '',
        '',
      ].join('\n'),
    );
  }
}

export const started = main().catch(exitOnStartFailure('citizen-affiliation'));
