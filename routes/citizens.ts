import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Requester } from '../src/citizens/citizens.service.js';
import { storeAnswer } from '../src/idempotency/idempotency.service.js';
import { citizenIdSchema } from '../src/shared/citizen.js';
import {
  ACTION_OUTCOMES,
  CHANNELS,
  CITIZEN_ACTIONS,
  CITIZEN_STATUSES,
} from '../src/shared/enums.js';
import { AppError, upstreamUnavailable } from '../src/shared/errors.js';
import { answerIdempotently } from './idempotent.js';
import { idempotencyHeaders, problems } from './schemas.js';

const registeredSchema = z.object({
  action_id: z.uuid(),
  citizen_id: z.string(),
  status: z.literal('REGISTERED'),
  operator_id: z.string(),
  registered_at: z.iso.datetime(),
  settled_by: z
    .string()
    .nullable()
    .describe('validateCitizen when the hub answered ambiguously and that settled it'),
});

const actionSchema = z.object({
  action_id: z.uuid(),
  action: z.enum(CITIZEN_ACTIONS),
  outcome: z.enum(ACTION_OUTCOMES),
  hub_status: z.number().int().nullable(),
  settled_by: z.string().nullable(),
  attempts: z.number().int(),
  message: z.string(),
  channel: z.enum(CHANNELS),
  requested_by: z.string().nullable(),
  at: z.iso.datetime(),
  completed_at: z.iso.datetime().nullable(),
});

const recordSchema = z.object({
  citizen_id: z.string(),
  status: z.enum(CITIZEN_STATUSES).nullable().describe('null: never registered by us'),
  operator_id: z.string().nullable(),
  name: z.string().nullable(),
  address: z.string().nullable(),
  email: z.string().nullable(),
  registered_at: z.iso.datetime().nullable(),
  unregistered_at: z.iso.datetime().nullable(),
  history: z.array(actionSchema).describe('Newest first, at most 50'),
});

const byId = z.strictObject({ citizen_id: citizenIdSchema });

/** POST /citizens, DELETE /citizens/:citizen_id, GET /citizens/:citizen_id. */
const citizenRoutes: FastifyPluginAsyncZod = async (app) => {
  const security = [{ bearerAuth: [] }];
  const by = (request: { user: { sub: string }; id: unknown }): Requester => ({
    channel: 'http',
    requestedBy: request.user.sub,
    requestId: String(request.id),
    messageId: null,
  });

  app.post(
    '/citizens',
    {
      onRequest: [app.authenticate, app.authorize('citizens:register')],
      schema: {
        tags: ['citizens'],
        summary: 'Register a citizen with this operator at GovCarpeta',
        description:
          'Audited and announced as `citizen.registered`. 409 ALREADY_REGISTERED when the hub ' +
          'says the citizen is registered with an operator; 503 UPSTREAM_UNAVAILABLE when it ' +
          'cannot say (audited, never a decision). An ambiguous answer (timeout, 5xx) is settled ' +
          'with validateCitizen before anything is sent again.',
        security,
        headers: idempotencyHeaders,
        body: z
          .strictObject({
            citizen_id: citizenIdSchema,
            name: z.string().trim().min(1).max(200),
            address: z.string().trim().min(1).max(300),
            email: z.email().max(254),
          })
          .transform((b) => ({
            citizenId: b.citizen_id,
            name: b.name,
            address: b.address,
            email: b.email,
          })),
        response: { 201: registeredSchema, ...problems(400, 401, 403, 409, 415, 429, 503) },
      },
    },
    async (request, reply) =>
      answerIdempotently(
        request,
        reply,
        'citizens.register',
        async (_caller, save) => {
          let view: z.infer<typeof registeredSchema> | undefined;
          const result = await app.citizens.register(request.body, by(request), {
            final: true,
            also: async (tx, action) => {
              if (action.outcome !== 'REGISTERED') return;
              view = {
                action_id: action.id,
                citizen_id: action.citizenId,
                status: 'REGISTERED',
                operator_id: app.citizens.operator().id,
                registered_at: (action.completedAt ?? action.createdAt).toISOString(),
                settled_by: action.settledBy,
              };
              await storeAnswer(save, view, 201)?.(tx);
            },
          });
          if (result.failure) {
            throw upstreamUnavailable(
              `${result.failure.reason}; the citizen was not registered, retry later`,
              result.failure.retryAfterSeconds,
            );
          }
          if (!view) throw new AppError('ALREADY_REGISTERED', result.action.message);
          return view;
        },
        201,
      ),
  );

  app.delete(
    '/citizens/:citizen_id',
    {
      onRequest: [app.authenticate, app.authorize('citizens:register')],
      schema: {
        tags: ['citizens'],
        summary: 'Unregister a citizen of this operator at GovCarpeta',
        description:
          '204 once the hub says it is done (its 204 also means the citizen was not there: the ' +
          'audit says so); announced as `citizen.unregistered`. 503 when the hub cannot say.',
        security,
        params: byId,
        response: { 204: z.null().describe('Unregistered'), ...problems(400, 401, 403, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await app.citizens.unregister(request.params.citizen_id, by(request), {
        final: true,
      });
      if (result.failure) {
        throw upstreamUnavailable(
          `${result.failure.reason}; the citizen was not unregistered, retry later`,
          result.failure.retryAfterSeconds,
        );
      }
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/citizens/:citizen_id',
    {
      onRequest: [app.authenticate, app.authorize('citizens:read')],
      schema: {
        tags: ['citizens'],
        summary: "This operator's record of a citizen, and its history",
        security,
        params: byId,
        response: { 200: recordSchema, ...problems(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const found = await app.citizens.find(request.params.citizen_id);
      if (!found) throw new AppError('NOT_FOUND', 'No record of this citizen here');
      return found;
    },
  );
};

export default citizenRoutes;
