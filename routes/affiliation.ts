import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { citizenIdSchema } from '../src/shared/citizen.js';
import {
  AFFILIATION_TYPES,
  CHECK_SOURCES,
  CHECK_STATUSES,
  DOCUMENT_TYPES,
} from '../src/shared/enums.js';
import { answerIdempotently } from './idempotent.js';
import { idempotencyHeaders, pageQuery, problems } from './schemas.js';

const checkSchema = z.object({
  check_id: z.uuid(),
  citizen_id: z.string(),
  document_type: z.enum(DOCUMENT_TYPES),
  affiliation_type: z.enum(AFFILIATION_TYPES).nullable(),
  eligible: z.boolean().nullable().describe('null only for ERROR rows in the history'),
  status: z.enum(CHECK_STATUSES),
  reason: z.string(),
  checked_at: z.iso.datetime(),
  source: z.enum(CHECK_SOURCES).describe('hub: asked now; cache: a recent answer reused'),
});

/** POST /affiliation/check and GET /affiliation/checks. */
const affiliationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/affiliation/check',
    {
      onRequest: [app.authenticate, app.authorize('affiliation:check')],
      schema: {
        tags: ['affiliation'],
        summary: 'May this citizen be affiliated to our operator?',
        description:
          'Asks GovCarpeta whether the citizen is registered with an operator (hub 204: ELIGIBLE, ' +
          '200: ALREADY_AFFILIATED), or reuses a recent answer. Every decision is audited and ' +
          'announced as `affiliation.checked`. When the hub cannot answer, the answer is 503 ' +
          'UPSTREAM_UNAVAILABLE with Retry-After: never a decision.',
        security: [{ bearerAuth: [] }],
        headers: idempotencyHeaders,
        body: z
          .strictObject({
            citizen_id: citizenIdSchema,
            document_type: z.enum(DOCUMENT_TYPES).default('CC'),
            affiliation_type: z.enum(AFFILIATION_TYPES).optional(),
          })
          .transform((b) => ({
            citizenId: b.citizen_id,
            documentType: b.document_type,
            affiliationType: b.affiliation_type,
          })),
        response: { 200: checkSchema, ...problems(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      answerIdempotently(request, reply, 'affiliation.check', (caller, save) =>
        app.affiliation.check(request.body, caller, save),
      ),
  );

  app.get(
    '/affiliation/checks',
    {
      onRequest: [app.authenticate, app.authorize('history:read')],
      schema: {
        tags: ['affiliation'],
        summary: 'Audit history of checks, newest first',
        description:
          'Every check, hub errors included (status ERROR). Pass `next_cursor` back as `cursor` ' +
          'for the next page; it is null on the last one.',
        security: [{ bearerAuth: [] }],
        querystring: z.strictObject({
          citizen_id: citizenIdSchema.optional(),
          ...pageQuery,
        }),
        response: {
          200: z.object({ items: z.array(checkSchema), next_cursor: z.string().nullable() }),
          ...problems(400, 401, 403, 429, 503),
        },
      },
    },
    async (request) =>
      app.affiliation.history({
        citizenId: request.query.citizen_id,
        limit: request.query.limit,
        cursor: request.query.cursor,
      }),
  );
};

export default affiliationRoutes;
