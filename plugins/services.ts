import fp from 'fastify-plugin';
import { AffiliationService } from '../src/affiliation/affiliation.service.js';
import { checkMetrics } from '../src/affiliation/metrics.js';
import { DocumentService } from '../src/documents/documents.service.js';
import { authenticationMetrics } from '../src/documents/metrics.js';
import { Idempotency } from '../src/idempotency/idempotency.service.js';

declare module 'fastify' {
  interface FastifyInstance {
    affiliation: AffiliationService;
    documents: DocumentService;
    idempotency: Idempotency;
  }
}

/** The use cases the routes and consumers call, wired to the database, the hub and the outbox. */
export default fp(
  async (app) => {
    app.decorate(
      'affiliation',
      new AffiliationService(app.db, app.outbox, app.hub, checkMetrics(app.registry)),
    );
    app.decorate(
      'documents',
      new DocumentService(app.db, app.outbox, app.hub, authenticationMetrics(app.registry)),
    );
    app.decorate('idempotency', new Idempotency(app.db));
  },
  { name: 'services', dependencies: ['db', 'messaging', 'hub', 'metrics'] },
);
