import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { citizenIdSchema } from '../src/shared/citizen.js';
import { VERIFICATION_STATUSES } from '../src/shared/enums.js';
import { AppError } from '../src/shared/errors.js';
import { answerIdempotently } from './idempotent.js';
import { idempotencyHeaders, problems } from './schemas.js';

const authenticationSchema = z.object({
  authentication_id: z.uuid(),
  citizen_id: z.string(),
  document_id: z.string().nullable(),
  document_title: z.string(),
  authenticated: z.boolean().nullable().describe('null only for ERROR records'),
  verification_status: z.enum(VERIFICATION_STATUSES),
  message: z.string(),
  authenticated_at: z.iso.datetime(),
});

/** POST /documents/authenticate and GET /documents/authentications/:id. */
const documentRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/documents/authenticate',
    {
      onRequest: [app.authenticate, app.authorize('documents:authenticate')],
      schema: {
        tags: ['documents'],
        summary: "Ask GovCarpeta to certify a citizen's document",
        description:
          'Hub 200: VERIFIED; 204 or 4xx: REJECTED. Audited and announced as ' +
          '`document.authenticated`. `document_url` is treated as a credential: it is sent to ' +
          'the hub only, never logged or stored (only its SHA-256). Hub failures: 503.',
        security: [{ bearerAuth: [] }],
        headers: idempotencyHeaders,
        body: z
          .strictObject({
            citizen_id: citizenIdSchema,
            document_url: z
              .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
              .max(4096),
            document_title: z.string().trim().min(1).max(300),
            document_id: z.string().trim().min(1).max(200).optional(),
          })
          .transform((b) => ({
            citizenId: b.citizen_id,
            documentUrl: b.document_url,
            documentTitle: b.document_title,
            documentId: b.document_id,
          })),
        response: { 200: authenticationSchema, ...problems(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      answerIdempotently(request, reply, 'documents.authenticate', (caller, save) =>
        app.documents.authenticate(request.body, caller, save),
      ),
  );

  app.get(
    '/documents/authentications/:id',
    {
      onRequest: [app.authenticate, app.authorize('history:read')],
      schema: {
        tags: ['documents'],
        summary: 'One authentication record',
        security: [{ bearerAuth: [] }],
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: authenticationSchema, ...problems(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const found = await app.documents.find(request.params.id);
      if (!found) throw new AppError('NOT_FOUND', 'No authentication with this id');
      return found;
    },
  );
};

export default documentRoutes;
