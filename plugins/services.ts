import fp from 'fastify-plugin';
import { AffiliationService } from '../src/affiliation/affiliation.service.js';
import { checkMetrics } from '../src/affiliation/metrics.js';
import { CitizenService } from '../src/citizens/citizens.service.js';
import { actionMetrics } from '../src/citizens/metrics.js';
import { missingIdentity } from '../src/config/env.js';
import type { Settings } from '../src/config/settings.js';
import { DocumentService } from '../src/documents/documents.service.js';
import { authenticationMetrics } from '../src/documents/metrics.js';
import { Idempotency } from '../src/idempotency/idempotency.service.js';
import { directoryMetrics, OperatorDirectory } from '../src/operators/directory.service.js';
import { OperatorRegistration } from '../src/operators/registration.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    affiliation: AffiliationService;
    documents: DocumentService;
    citizens: CitizenService;
    directory: OperatorDirectory;
    registration: OperatorRegistration;
    idempotency: Idempotency;
  }
}

/**
 * The use cases the routes and consumers call, wired to the database, the hub and the outbox.
 * Registering citizens needs this operator's identity: without it, that use case answers 503
 * NOT_CONFIGURED naming the missing settings, and the start says so once.
 */
export default fp<Settings>(
  async (app, { config }) => {
    app.decorate(
      'affiliation',
      new AffiliationService(app.db, app.outbox, app.hub, checkMetrics(app.registry)),
    );
    app.decorate(
      'documents',
      new DocumentService(app.db, app.outbox, app.hub, authenticationMetrics(app.registry)),
    );
    const { operator } = config;
    const missing = missingIdentity(operator, ['id', 'name']);
    if (missing.length > 0) {
      app.log.error(
        { missing },
        `registering citizens is off: ${missing.join(' and ')} unset (this operator at the hub)`,
      );
    } else if (operator.simulated) {
      app.log.warn({ operator_id: operator.id }, 'using the simulated operator identity');
    }
    const identity = operator.id && operator.name ? { id: operator.id, name: operator.name } : null;
    app.decorate(
      'citizens',
      new CitizenService(
        app.db,
        app.outbox,
        app.hub,
        identity,
        missing,
        actionMetrics(app.registry),
      ),
    );
    const directory = new OperatorDirectory(
      app.hub,
      config.OPERATORS_CACHE_TTL_SECONDS * 1000,
      directoryMetrics(app.registry),
    );
    app.decorate('directory', directory);
    app.decorate('registration', new OperatorRegistration(app.db, app.hub, directory, operator));
    app.decorate('idempotency', new Idempotency(app.db));
  },
  { name: 'services', dependencies: ['db', 'messaging', 'hub', 'metrics'] },
);
