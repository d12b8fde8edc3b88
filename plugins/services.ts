import fp from 'fastify-plugin';
import { AffiliationService } from '../src/affiliation/service.js';
import { DocumentService } from '../src/documents/service.js';
import { Idempotency } from '../src/idempotency.js';

declare module 'fastify' {
  interface FastifyInstance {
    affiliation: AffiliationService;
    documents: DocumentService;
    idempotency: Idempotency;
  }
}

/** The use cases the routes call, wired to the database, the hub and the metrics. */
export default fp(
  async (app) => {
    app.decorate(
      'affiliation',
      new AffiliationService(app.db, app.outbox, app.hub, app.appMetrics.checks),
    );
    app.decorate(
      'documents',
      new DocumentService(app.db, app.outbox, app.hub, app.appMetrics.authentications),
    );
    app.decorate('idempotency', new Idempotency(app.db));
  },
  { name: 'services', dependencies: ['db', 'amqp', 'hub', 'metrics'] },
);
