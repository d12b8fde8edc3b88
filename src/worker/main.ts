import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from '../config.js';
import { buildWorker } from './app.js';

/** `npm run worker`: consume document authentication requests until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig(process.env, 'worker');
  const worker = await buildWorker(config);
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) worker.log.error({ err }, 'closing after an unexpected error');
    else worker.log.info({ signal }, 'shutting down: finishing the messages in hand');
    await worker.close();
    worker.log.info('closed');
  });
  await worker.listen({ host: config.HOST, port: config.WORKER_PORT });
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError ? err.message : 'citizen-affiliation worker failed to start:',
    err instanceof ConfigError ? '' : err,
  );
  process.exit(1);
});
