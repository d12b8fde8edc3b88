import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { storeAnswer } from '../src/idempotency/idempotency.service.js';
import { citizenIdSchema } from '../src/shared/citizen.js';
import { page } from '../src/shared/cursor.js';
import { TRANSFER_DIRECTIONS, TRANSFER_STATUSES, TRANSFER_STEPS } from '../src/shared/enums.js';
import { AppError } from '../src/shared/errors.js';
import {
  citizenEmail,
  citizenName,
  documentList,
  type TransferLimits,
} from '../src/transfers/schemas.js';
import { transferView } from '../src/transfers/transfers.service.js';
import { answerIdempotently } from './idempotent.js';
import { idempotencyHeaders, pageQuery, problems } from './schemas.js';

const summarySchema = z.object({
  transfer_id: z.uuid(),
  direction: z.enum(TRANSFER_DIRECTIONS),
  citizen_id: z.string(),
  status: z.enum(TRANSFER_STATUSES),
  step: z.enum(TRANSFER_STEPS).describe('The step it is at (DONE when it ended)'),
  peer_operator_id: z.string().nullable(),
  peer_name: z.string().nullable(),
  req_status: z.number().int().nullable().describe('The confirmation sent or received (1/0)'),
  reason: z.string().nullable().describe('Why it failed, or how it ended when that needs saying'),
  attempts: z.number().int().describe('Tries of the current step'),
  documents: z.array(z.object({ title: z.string(), url: z.string() })),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  completed_at: z.iso.datetime().nullable(),
});

const detailSchema = summarySchema.extend({
  steps: z
    .array(
      z.object({
        step: z.enum(TRANSFER_STEPS),
        outcome: z.enum(['started', 'received', 'done', 'retry', 'failed']),
        attempt: z.number().int(),
        detail: z.string(),
        at: z.iso.datetime(),
      }),
    )
    .describe('Every step taken, oldest first'),
});

/** POST /transfers, GET /transfers/:transfer_id, GET /transfers. */
const transferRoutes: FastifyPluginAsyncZod<TransferLimits> = async (app, limits) => {
  const security = [{ bearerAuth: [] }];

  app.post(
    '/transfers',
    {
      onRequest: [app.authenticate, app.authorize('transfers:start')],
      schema: {
        tags: ['transfers'],
        summary: 'Send a citizen to another operator',
        description:
          'Answers 202 at once; the steps then run durably (docs/transfers.md): the hub must ' +
          'show the citizen with this operator, it is unregistered, sent to the destination, and ' +
          'the destination confirms. Any failure registers the citizen with us again. 422 when ' +
          'the destination is not in the hub directory or publishes no transfer URL this service ' +
          'calls; 409 when the citizen has a transfer in progress.',
        security,
        headers: idempotencyHeaders,
        body: z
          .strictObject({
            citizen_id: citizenIdSchema,
            destination_operator_id: z
              .string()
              .trim()
              .regex(/^[A-Za-z0-9_-]{1,64}$/),
            citizen_name: citizenName,
            citizen_email: citizenEmail,
            documents: documentList(limits),
          })
          .transform((b) => ({
            citizenId: b.citizen_id,
            destinationOperatorId: b.destination_operator_id,
            citizenName: b.citizen_name,
            citizenEmail: b.citizen_email,
            documents: b.documents,
          })),
        response: {
          202: z.object({ transfer_id: z.uuid(), status: z.enum(TRANSFER_STATUSES) }),
          ...problems(400, 401, 403, 409, 415, 422, 429, 503),
        },
      },
    },
    async (request, reply) =>
      answerIdempotently(
        request,
        reply,
        'transfers.start',
        async (caller, save) => {
          let answer: { transfer_id: string; status: 'IN_PROGRESS' } | undefined;
          await app.transfers.start(request.body, caller, async (tx, row) => {
            answer = { transfer_id: row.id, status: 'IN_PROGRESS' };
            await storeAnswer(save, answer, 202)?.(tx);
          });
          if (!answer) throw new Error('transfer started without an answer');
          return answer;
        },
        202,
      ),
  );

  app.get(
    '/transfers/:transfer_id',
    {
      onRequest: [app.authenticate, app.authorize('transfers:read')],
      schema: {
        tags: ['transfers'],
        summary: 'A transfer, with every step it took',
        security,
        params: z.strictObject({ transfer_id: z.uuid() }),
        response: { 200: detailSchema, ...problems(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const found = await app.transfers.find(request.params.transfer_id);
      if (!found) throw new AppError('NOT_FOUND', 'No such transfer');
      return found;
    },
  );

  app.get(
    '/transfers',
    {
      onRequest: [app.authenticate, app.authorize('transfers:read')],
      schema: {
        tags: ['transfers'],
        summary: 'Transfers, newest first',
        description: 'Pass `next_cursor` back as `cursor` for the next page (null on the last).',
        security,
        querystring: z.strictObject({
          citizen_id: citizenIdSchema.optional(),
          direction: z.enum(TRANSFER_DIRECTIONS).optional(),
          status: z.enum(TRANSFER_STATUSES).optional(),
          ...pageQuery,
        }),
        response: {
          200: z.object({ items: z.array(summarySchema), next_cursor: z.string().nullable() }),
          ...problems(400, 401, 403, 429, 503),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await app.transfers.list({
        citizenId: q.citizen_id,
        direction: q.direction,
        status: q.status,
        cursor: q.cursor,
        limit: q.limit + 1,
      });
      return page(
        rows,
        q.limit,
        (r) => r.createdAt,
        (r) => transferView(r),
      );
    },
  );
};

export default transferRoutes;
