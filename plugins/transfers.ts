import fp from 'fastify-plugin';
import { missingIdentity } from '../src/config/env.js';
import type { Settings } from '../src/config/settings.js';
import { citizenRefs } from '../src/shared/citizen.js';
import { transferMetrics } from '../src/transfers/metrics.js';
import { PeerClient } from '../src/transfers/peer-client.js';
import { hostPort, PeerGuard } from '../src/transfers/peer-guard.js';
import { TransferRunner } from '../src/transfers/transfer-runner.js';
import { TransferSteps } from '../src/transfers/transfer-steps.js';
import { type TransferIdentity, TransferService } from '../src/transfers/transfers.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    transfers: TransferService;
    transferRunner: TransferRunner | null;
  }
}

/**
 * Transfers of citizens between operators, for every process: the service the routes and the
 * documents consumer call, and the runner of the sagas' steps (API and worker both run one;
 * replicas share the work through claims). Without this operator's identity and public base URL
 * nothing runs, and the routes answer 503 NOT_CONFIGURED naming what is missing.
 */
export default fp<Settings>(
  async (app, { config, tuning }) => {
    const t = tuning.transfers;
    const metrics = transferMetrics(app.registry, app.db);
    const guard = new PeerGuard({
      httpsOnly: config.NODE_ENV === 'production',
      // The simulator's peer operator (development only) listens on loopback.
      allowedHosts: [
        ...config.PEER_ALLOWED_HOSTS,
        ...(app.simulatedPeerUrl ? [hostPort(new URL(app.simulatedPeerUrl))] : []),
      ],
      listedHosts: () => app.directory.transferHosts(),
    });
    const peers = new PeerClient(guard, t.peerTimeoutMs);
    const { operator } = config;
    const missing = missingIdentity(operator, ['id', 'name', 'publicBaseUrl']);
    const identity: TransferIdentity | null =
      missing.length === 0
        ? {
            id: operator.id as string,
            name: operator.name as string,
            publicBaseUrl: operator.publicBaseUrl as string,
          }
        : null;
    if (!identity) {
      app.log.error({ missing }, `transfers are off: ${missing.join(', ')} unset`);
    }
    const waitForDocuments = config.TRANSFER_WAIT_FOR_DOCUMENTS && app.broker !== null;
    if (config.TRANSFER_WAIT_FOR_DOCUMENTS && !waitForDocuments && identity) {
      app.log.warn('AMQP_URL is unset: incoming transfers do not wait for the documents service');
    }
    // onClose hooks run last-registered first: the runner stops before the peers' connections.
    app.addHook('onClose', async () => peers.close());
    let runner: TransferRunner | null = null;
    const service = new TransferService({
      db: app.db,
      outbox: app.outbox,
      directory: app.directory,
      peers,
      identity,
      missing,
      waitForDocuments,
      documentsTimeoutSeconds: t.documentsTimeoutSeconds,
      metrics,
      log: app.log.child({ component: 'transfers' }),
      citizenRef: citizenRefs(config.JWT_SECRET),
      kick: () => runner?.kick(),
    });
    if (identity) {
      runner = new TransferRunner({
        db: app.db,
        outbox: app.outbox,
        metrics,
        log: app.log.child({ component: 'transfers' }),
        pollMs: t.pollMs,
        leaseMs: t.leaseMs,
        batchSize: t.batchSize,
        steps: new TransferSteps({
          hub: app.hub,
          citizens: app.citizens,
          peers,
          outbox: app.outbox,
          db: app.db,
          identity,
          timings: { ...t, confirmTimeoutSeconds: config.TRANSFER_CONFIRM_TIMEOUT_SECONDS },
        }),
      });
      const started = runner;
      app.addHook('onReady', async () => started.start());
      app.addHook('onClose', async () => started.stop());
    }
    app.decorate('transfers', service);
    app.decorate('transferRunner', runner);
  },
  { name: 'transfers', dependencies: ['db', 'messaging', 'hub', 'services'] },
);
