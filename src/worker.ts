import closeWithGrace from 'close-with-grace';
import { exitOnStartFailure } from './app/base.js';
import { buildWorker } from './app/worker.js';
import { loadConfig } from './config/env.js';

/** `npm run worker`: consume request messages until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig(process.env, 'worker');
  const worker = await buildWorker(config);
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) worker.log.error({ err }, 'closing after an unexpected error');
    else worker.log.info({ signal }, 'shutting down: finishing the messages in hand');
    await worker.close();
    worker.log.info('closed');
  });
  await worker.listen({ host: config.HOST, port: config.PORT });
}

main().catch(exitOnStartFailure('citizen-affiliation worker'));
