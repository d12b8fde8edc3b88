import closeWithGrace from 'close-with-grace';
import { loadConfig } from '../config/env.js';
import { currentTracing } from '../telemetry/start.js';
import { exitOnStartFailure } from './base.js';
import { buildWorker } from './worker.js';

/** The worker process (src/worker.ts starts it): consume request messages until SIGTERM/SIGINT. */
async function main() {
  const config = loadConfig(process.env, 'worker');
  const worker = await buildWorker(config);
  closeWithGrace({ delay: config.SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) worker.log.error({ err }, 'closing after an unexpected error');
    else worker.log.info({ signal }, 'shutting down: finishing the messages in hand');
    await worker.close();
    await currentTracing()?.shutdown();
    worker.log.info('closed');
  });
  await worker.listen({ host: config.HOST, port: config.PORT });
}

export const started = main().catch(exitOnStartFailure('citizen-affiliation worker'));
